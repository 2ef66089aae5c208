// Login page: starts the browser's NS login session, shows the rotating QR, follows the phone over SSE and
// shows one state at a time. Every text comes from the page (rendered in its locale), none from here.
(() => {
  const root = document.getElementById('login');
  const server = root.dataset.server;
  const base = `/ns/servers/${encodeURIComponent(server)}`;
  const lang = document.documentElement.lang || 'en';
  const qr = document.getElementById('qr');
  const qrText = document.getElementById('qr-text');
  const status = document.getElementById('status');
  const countdown = document.getElementById('countdown');
  const restart = document.getElementById('restart');
  const openAppBlock = document.getElementById('open-app-block');
  const openApp = document.getElementById('open-app');
  const openAppFallback = document.getElementById('open-app-fallback');
  const views = [...document.querySelectorAll('[data-view]')];
  // Set when the page serves an OIDC authorization: where the IdP collects this login (oidc-routes.ts).
  const complete = root.dataset.complete;
  // An https app link (universal link / Android App Link) of the app, if the server has one.
  const appLink = root.dataset.appLink;
  const hint = document.getElementById('login-hint');
  if (hint?.dataset.hint) hint.hidden = false;
  // App-to-app login only makes sense where the app lives: a phone or tablet browser.
  const mobile =
    navigator.userAgentData?.mobile ?? /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);
  let events;
  let qrTimer;
  let tick;
  let current = 'loading';
  let restartedByUser = false;

  const pending = (view) => view === 'loading' || view === 'waiting' || view === 'scanned';

  /** The view of a LoginStatus: a decline the phone reported as "not me" has its own. */
  const viewOf = (s) => (s.state === 'declined' && s.declineReason === 'not_me' ? 'notme' : s.state);

  function show(view) {
    if (!views.some((v) => v.dataset.view === view)) view = 'error';
    const changed = view !== current;
    current = view;
    status.dataset.state = view;
    status.textContent = status.dataset[view] ?? '';
    for (const v of views) v.hidden = v.dataset.view !== view;
    const final = !pending(view);
    restart.hidden = !final || view === 'loggedin';
    restart.textContent = view === 'expired' ? restart.dataset.newCode : restart.dataset.again;
    if (final) stop();
    // Keyboard and screen-reader users land on what changed: the button that goes on, else the heading.
    // Not on the first code of a fresh page, which would only steal focus from where the page starts, nor
    // on the moment of loading in between.
    const focusHere = view === 'waiting' ? restartedByUser : view !== 'loading';
    if (changed && focusHere) {
      restartedByUser = false;
      if (!restart.hidden) restart.focus();
      else
        views
          .find((v) => v.dataset.view === view)
          ?.querySelector('h2')
          ?.focus();
    }
    if (complete && (view === 'loggedin' || view === 'declined' || view === 'notme')) finish();
    else if (view === 'loggedin')
      setTimeout(
        () =>
          location.assign(`/login/${encodeURIComponent(server)}/done?ui_locales=${encodeURIComponent(lang)}`),
        300,
      );
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
    events = undefined;
    clearTimeout(qrTimer);
    clearInterval(tick);
  }

  function showAppLink(qrUri) {
    if (!mobile) return;
    const d = new URL(qrUri).searchParams.get('d') ?? '';
    if (appLink) {
      const https = new URL(appLink);
      https.searchParams.set('d', d);
      openApp.href = https.href;
      openAppFallback.href = qrUri;
      openAppFallback.hidden = false;
    } else {
      openApp.href = qrUri;
    }
    openAppBlock.hidden = false;
  }

  async function loadQr() {
    const res = await fetch(`${base}/session/qr?img=svg`, { credentials: 'same-origin' });
    if (!res.ok) return; // the session moved on; the event stream says where
    const body = await res.json();
    qr.src = body.img;
    qr.dataset.uri = body.qrUri;
    qrText.textContent = body.qrUri;
    showAppLink(body.qrUri);
    const refreshAt = Date.parse(body.refreshAt);
    countdown.dataset.refreshAt = String(refreshAt);
    updateCountdown();
    clearTimeout(qrTimer);
    qrTimer = setTimeout(loadQr, Math.max(1000, refreshAt - Date.now()));
  }

  function updateCountdown() {
    const refreshAt = Number(countdown.dataset.refreshAt);
    if (!refreshAt) return;
    const left = Math.max(0, Math.ceil((refreshAt - Date.now()) / 1000));
    countdown.textContent = countdown.dataset.text.replace('{seconds}', String(left));
  }

  function follow(expiresAt) {
    clearInterval(tick);
    tick = setInterval(() => {
      updateCountdown();
      if (Date.now() >= expiresAt) show('expired');
    }, 1000);
    events = new EventSource(`${base}/session/events`);
    events.addEventListener('state', (e) => {
      const s = JSON.parse(e.data);
      show(viewOf(s));
      // A new state that still waits for a code (e.g. after a reconnect): keep the code fresh.
      if (s.state === 'waiting' && !qr.src) loadQr();
    });
  }

  async function start() {
    stop();
    qr.removeAttribute('src');
    delete countdown.dataset.refreshAt;
    countdown.textContent = '';
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
      if (s.state === 'waiting') await loadQr();
      show(viewOf(s));
      if (pending(s.state)) follow(Date.parse(s.expiresAt));
    } catch {
      show('error');
    }
  }

  async function brand() {
    try {
      const res = await fetch(`${base}/branding`, { credentials: 'omit' });
      if (!res.ok) return;
      const b = await res.json();
      if (typeof b.displayName === 'string')
        document.getElementById('server-name').textContent = b.displayName;
      const logo = document.getElementById('brand-logo');
      if (typeof b.logo === 'string' && b.logo.startsWith('data:image/')) {
        logo.src = b.logo;
        logo.hidden = false;
      }
    } catch {
      // Branding is decoration: the page works without it.
    }
  }

  restart.addEventListener('click', () => {
    restartedByUser = true;
    start();
  });
  brand();
  start();
})();
