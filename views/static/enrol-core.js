// The enrol view of one enrol link, shared by the enrol page (enrol.js) and the embeddable block
// (nextauth-enrol-block.js): opens the view with its view token (this browser then keeps it), shows the QR, the
// server key's pictures and the time left, and follows the phone over SSE until it enrolled or the link expired.
// Every text comes from the markup (rendered in its locale), none from here.

const pending = (view) => view === 'loading' || view === 'waiting';
/** The view for a refusal of the enrol-view endpoint (its `reason`). */
const refusals = {
  enrol_view_unknown: 'invalid',
  enrol_view_expired: 'expired',
  enrol_view_used: 'used',
  enrol_view_claimed: 'claimed',
};

/** root: the element holding the block's markup; options: { server, token, onFinal(view, detail) }. */
export function mountEnrol(root, options) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const views = [...root.querySelectorAll('[data-view]')];
  const status = part('status');
  const qr = part('qr');
  const countdown = part('countdown');
  const restart = part('restart');
  const base = `/ns/servers/${encodeURIComponent(options.server)}`;
  // Adding the phone one holds: the app is on this device, a QR on its own screen cannot be scanned.
  const mobile =
    navigator.userAgentData?.mobile ?? /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);
  let events;
  let tick;
  let expiresAt = 0;
  let current = 'loading';
  let restartedByUser = false;

  function show(view, detail = {}) {
    if (!views.some((v) => v.dataset.view === view)) view = 'error';
    const changed = view !== current;
    current = view;
    root.dataset.nextauthState = view;
    status.dataset.state = view;
    status.textContent = status.dataset[view] ?? '';
    for (const v of views) v.hidden = v.dataset.view !== view;
    const device = part('device');
    if (view === 'enrolled' && detail.description) {
      device.textContent = device.dataset.text.replace('{description}', detail.description);
      device.hidden = false;
    }
    const final = !pending(view);
    restart.hidden = view !== 'error';
    if (final) stop();
    // Focus follows what changed (the button, else the heading), but not onto the first code of a fresh page.
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
    if (final && changed) options.onFinal?.(view, detail);
  }

  function stop() {
    events?.close();
    events = undefined;
    clearInterval(tick);
  }

  function updateCountdown() {
    const left = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    countdown.textContent = countdown.dataset.text.replace('{time}', time);
    if (left === 0) show('expired');
  }

  function showKey(hash) {
    const box = part('visual-hash');
    box.replaceChildren(
      ...hash.emoji.map((emoji, i) => {
        const item = document.createElement('span');
        item.className = 'vh-item';
        const picture = document.createElement('span');
        picture.className = 'vh-emoji';
        picture.textContent = emoji;
        const word = document.createElement('span');
        word.className = 'vh-word';
        word.textContent = hash.words[i] ?? '';
        item.append(picture, word);
        return item;
      }),
    );
    box.setAttribute('aria-label', box.dataset.label.replace('{words}', hash.words.join(', ')));
    // Through the CSSOM, which the CSP's style-src 'self' allows (an inline style attribute it would not).
    box.style.setProperty('--vh-color', hash.color);
  }

  function fill(view) {
    qr.src = view.img;
    qr.dataset.uri = view.qrUri;
    part('qr-text').textContent = view.qrUri;
    showKey(view.visualHash);
    const announce = part('announce');
    if (view.announceInfo) {
      announce.textContent = announce.dataset.text.replace('{info}', view.announceInfo);
      announce.hidden = false;
    }
    if (mobile) {
      part('open-app').href = view.qrUri;
      part('open-app-block').hidden = false;
    }
    expiresAt = Date.parse(view.expiresAt);
    updateCountdown();
  }

  function follow() {
    clearInterval(tick);
    tick = setInterval(updateCountdown, 1000);
    events = new EventSource(`${base}/enrol-view/events`);
    events.addEventListener('state', (e) => {
      const s = JSON.parse(e.data);
      if (s.state !== 'waiting') show(s.state, s);
    });
  }

  async function start() {
    stop();
    show('loading');
    if (!options.token) return show('invalid');
    try {
      const res = await fetch(`${base}/enrol-view`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: options.token }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) return show(refusals[body.reason] ?? 'error', { reason: body.reason });
      fill(body);
      if (current === 'expired') return;
      show('waiting');
      follow();
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
