// The QR login of one virtual server, shared by the login page (login.js) and the embeddable block
// (nextauth-login-block.js): starts the browser's NS login session, shows the rotating QR, follows the phone
// over SSE and shows one state at a time. Every text comes from the markup (rendered in its locale), none from
// here; what happens after a final state is the caller's (`onFinal`).

/** The view of a LoginStatus: a decline the phone reported as "not me" has its own. */
// A decline's reason picks its own view: "not me" from the phone, or the phone's PIN lockout.
const declineViews = new Map([
  ['not_me', 'notme'],
  ['locked', 'locked'],
]);
const viewOf = (s) => (s.state === 'declined' && declineViews.get(s.declineReason)) || s.state;
const pending = (view) => view === 'loading' || view === 'waiting' || view === 'scanned';

/**
 * parts: { qr, qrText, status, countdown, restart, views, openAppBlock?, openApp?, openAppFallback? } — the
 * elements of the markup; options: { server, appLink?, onView(view)?, onFinal(view, status) }.
 */
export function mountLogin(parts, options) {
  const { qr, qrText, status, countdown, restart, views } = parts;
  const base = `/ns/servers/${encodeURIComponent(options.server)}`;
  // App-to-app login only makes sense where the app lives: a phone or tablet browser.
  const mobile =
    navigator.userAgentData?.mobile ?? /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);
  let events;
  let qrTimer;
  let tick;
  let current = 'loading';
  let restartedByUser = false;

  function show(view, loginStatus) {
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
    if (changed) options.onView?.(view);
    if (final && changed) options.onFinal?.(view, loginStatus);
  }

  function stop() {
    events?.close();
    events = undefined;
    clearTimeout(qrTimer);
    clearInterval(tick);
  }

  function showAppLink(qrUri) {
    if (!mobile || !parts.openAppBlock) return;
    const d = new URL(qrUri).searchParams.get('d') ?? '';
    if (options.appLink) {
      const https = new URL(options.appLink);
      https.searchParams.set('d', d);
      parts.openApp.href = https.href;
      parts.openAppFallback.href = qrUri;
      parts.openAppFallback.hidden = false;
    } else {
      parts.openApp.href = qrUri;
    }
    parts.openAppBlock.hidden = false;
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
      show(viewOf(s), s);
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
      show(viewOf(s), s);
      if (pending(s.state)) follow(Date.parse(s.expiresAt));
    } catch {
      show('error');
    }
  }

  restart.addEventListener('click', () => {
    restartedByUser = true;
    start();
  });

  return { start, show };
}
