// Login page: starts the browser's NS login session, shows the rotating QR, follows the phone over SSE.
(() => {
  const root = document.getElementById('login');
  const server = root.dataset.server;
  const base = `/ns/servers/${encodeURIComponent(server)}`;
  const qr = document.getElementById('qr');
  const qrText = document.getElementById('qr-text');
  const status = document.getElementById('status');
  const waiting = document.getElementById('waiting');
  const countdown = document.getElementById('countdown');
  const restart = document.getElementById('restart');
  // Set when the page serves an OIDC authorization: where the IdP collects this login (oidc-routes.ts).
  const complete = root.dataset.complete;
  const hint = document.getElementById('login-hint');
  if (hint?.dataset.hint) {
    hint.textContent = `Log in as ${hint.dataset.hint}`;
    hint.hidden = false;
  }
  let events;
  let qrTimer;
  let tick;

  const messages = {
    loading: 'Preparing your login…',
    waiting: 'Waiting for your phone…',
    scanned: 'Code scanned. Confirm on your phone.',
    loggedin: 'Logged in.',
    declined: 'The login was declined on the phone.',
    expired: 'This login has expired.',
    loggedout: 'You have been logged out.',
    error: 'Something went wrong. Try again.',
  };

  function show(state) {
    status.dataset.state = state;
    status.textContent = messages[state] ?? state;
    const final = state !== 'waiting' && state !== 'scanned' && state !== 'loading';
    waiting.hidden = state !== 'waiting';
    restart.hidden = !final || state === 'loggedin';
    if (final) stop();
    if (complete && (state === 'loggedin' || state === 'declined')) finish();
    else if (state === 'loggedin')
      setTimeout(() => location.assign(`/login/${encodeURIComponent(server)}/done`), 300);
  }

  // OIDC: the IdP turns the NS login (or the decline) into its answer and sends the browser back to the app.
  let finishing = false;
  let restarted = false;
  async function finish() {
    if (finishing) return;
    finishing = true;
    try {
      const res = await fetch(complete, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const body = await res.json().catch(() => ({}));
      if (res.ok && typeof body.location === 'string') {
        location.assign(body.location);
        return;
      }
      finishing = false;
      // A login of this browser from before this request, or one already used: start a fresh one, once.
      if ((body.reason === 'login_stale' || body.reason === 'login_used') && !restarted) {
        restarted = true;
        start();
        return;
      }
      show('error');
    } catch {
      finishing = false;
      show('error');
    }
  }

  function stop() {
    events?.close();
    clearTimeout(qrTimer);
    clearInterval(tick);
  }

  async function loadQr() {
    const res = await fetch(`${base}/session/qr?img=svg`, { credentials: 'same-origin' });
    if (!res.ok) return; // the session moved on; the event stream says where
    const body = await res.json();
    qr.src = body.img;
    qr.dataset.uri = body.qrUri;
    qrText.textContent = body.qrUri;
    const refreshAt = Date.parse(body.refreshAt);
    clearTimeout(qrTimer);
    qrTimer = setTimeout(loadQr, Math.max(1000, refreshAt - Date.now()));
  }

  function follow(expiresAt) {
    clearInterval(tick);
    tick = setInterval(() => {
      const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
      countdown.textContent = `This login expires in ${left} s.`;
      if (left === 0) show('expired');
    }, 1000);
    events = new EventSource(`${base}/session/events`);
    events.addEventListener('state', (e) => {
      const s = JSON.parse(e.data);
      show(s.state);
    });
  }

  async function start() {
    stop();
    show('loading');
    try {
      const res = await fetch(`${base}/browser-session`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (!res.ok) throw new Error(String(res.status));
      const s = await res.json();
      show(s.state);
      if (s.state === 'waiting' || s.state === 'scanned') {
        await loadQr();
        follow(Date.parse(s.expiresAt));
      }
    } catch {
      show('error');
    }
  }

  restart.addEventListener('click', start);
  start();
})();
