// "Send a push to my phone" on the login page: offered only when the server says this browser logged in here
// before (its returning-user cookie, which the page cannot read itself: HttpOnly). The push goes to the
// browser's own waiting session; the page shows the 2-digit number to type in the app, the QR stays, and the
// rest (scanned, logged in) arrives over the login's SSE like a scan. Texts come from the markup.

/** parts: { block, button, sent, match, status }; returns { onView(view) } for mountLogin. */
export function mountPush(parts, server) {
  const { block, button, sent, match, status } = parts;
  const base = `/ns/servers/${encodeURIComponent(server)}`;
  let sending = false;

  const message = (key) => block.dataset[key] ?? '';

  function showError(text, reason) {
    status.textContent = text;
    status.dataset.pushError = reason;
  }

  function clearError() {
    delete status.dataset.pushError;
  }

  function reset() {
    sent.hidden = true;
    match.textContent = '';
    button.disabled = false;
  }

  async function send() {
    if (sending) return;
    sending = true;
    button.disabled = true;
    clearError();
    status.textContent = message('sending');
    try {
      const res = await fetch(`${base}/session/push`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const body = await res.json().catch(() => ({}));
      if (res.ok && Number.isInteger(body.match)) {
        match.textContent = String(body.match);
        sent.hidden = false;
        status.textContent = status.dataset.waiting ?? '';
        // Sending again would only add a second request with a new number; a fresh code restarts this.
        return;
      }
      button.disabled = false;
      if (res.status === 429) {
        const seconds = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
        showError(
          message('rateLimited').replace('{seconds}', String(Number.isFinite(seconds) ? seconds : 60)),
          'rate_limited',
        );
      } else if (body.reason === 'push_blocked' || body.reason === 'account_blocked')
        showError(message('blocked'), 'blocked');
      else if (body.reason === 'push_unavailable' || res.status === 403)
        showError(message('unavailable'), 'unavailable');
      else showError(message('failed'), 'failed');
    } catch {
      button.disabled = false;
      showError(message('failed'), 'failed');
    } finally {
      sending = false;
    }
  }

  button.addEventListener('click', send);

  // One question per page load: the cookie does not change while the page is open.
  fetch(`${base}/push`, { credentials: 'same-origin' })
    .then((res) => (res.ok ? res.json() : { available: false }))
    .then((body) => {
      block.hidden = body.available !== true;
    })
    .catch(() => {});

  return {
    onView(view) {
      // Every state change rewrites the status line; a new waiting session needs a new push.
      clearError();
      if (view !== 'waiting') reset();
    },
  };
}
