// Session-monitoring footer: every `<div data-nextauth-session data-server="…">` of the page watches this
// browser's NS session of that server and emits `nextauth:loggedout` (detail { server, userid }, bubbling)
// when a logged-in session ends — logout elsewhere, expiry, a revoked session. It polls GET …/session (the
// event stream ends once a login is final, so it cannot tell about the end of a session); it re-checks at
// once when the page comes back into view and when a login block on the page reports a login.
// Optional: data-poll-seconds (default 15, at least 2); data-text-loggedin ("… {userid} …") and
// data-text-loggedout, the texts it shows for either state.
const minPollSeconds = 2;

function watch(host) {
  const server = host.dataset.server || 'default';
  const asked = Number(host.dataset.pollSeconds);
  const pollMs = (Number.isFinite(asked) && asked >= minPollSeconds ? asked : 15) * 1000;
  let userid = null;
  let checking = false;

  function render() {
    host.dataset.nextauthState = userid === null ? 'loggedout' : 'loggedin';
    const text = userid === null ? host.dataset.textLoggedout : host.dataset.textLoggedin;
    if (text !== undefined) host.textContent = text.replace('{userid}', userid ?? '');
  }

  async function check() {
    if (checking) return;
    checking = true;
    try {
      const res = await fetch(`/ns/servers/${encodeURIComponent(server)}/session`, {
        credentials: 'same-origin',
      });
      // 401: no session of this server in this browser (any more).
      if (!res.ok && res.status !== 401) return;
      const s = res.ok ? await res.json() : { loggedin: false };
      const now = s.loggedin ? String(s.userid ?? '') : null;
      if (userid !== null && now !== userid) {
        host.dispatchEvent(
          new CustomEvent('nextauth:loggedout', {
            bubbles: true,
            composed: true,
            detail: { server, userid },
          }),
        );
      }
      userid = now;
      render();
    } catch {
      // Offline for a moment is not a logout: the next poll decides.
    } finally {
      checking = false;
    }
  }

  document.addEventListener('nextauth:loggedin', (e) => {
    if (e.detail?.server === server) check();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });
  setInterval(check, pollMs);
  check();
}

for (const host of document.querySelectorAll('[data-nextauth-session]')) watch(host);
