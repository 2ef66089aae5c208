// Embeddable login block: turns every `<div data-nextauth-login data-server="…">` of the page into the QR
// login of that virtual server (login-core.js, the login page's own logic, with its "send a push" for
// returning users from login-push.js) and tells the host page how it
// ended through DOM events on that element, which bubble: `nextauth:loggedin` (detail { server, userid }),
// `nextauth:declined` (detail { server, reason }), `nextauth:expired` (detail { server }).
// Same origin only: the markup, the session cookie and the scripts all come from the IdP's host.
import { mountLogin } from './login-core.js';
import { mountPush } from './login-push.js';

const finalEvents = {
  loggedin: 'nextauth:loggedin',
  declined: 'nextauth:declined',
  notme: 'nextauth:declined',
  locked: 'nextauth:declined',
};

function emit(host, type, detail) {
  host.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail }));
}

async function mountBlock(host) {
  const server = host.dataset.server || 'default';
  // Without a language of its own, the page's; without that, the browser's (Accept-Language).
  const lang = host.dataset.lang || document.documentElement.lang;
  host.dataset.nextauthState = 'loading';
  // The texts come rendered in the page's language from the IdP, like the login page's.
  const res = await fetch(
    `/login/${encodeURIComponent(server)}/block${lang ? `?ui_locales=${encodeURIComponent(lang)}` : ''}`,
    { credentials: 'same-origin' },
  );
  if (!res.ok) {
    host.dataset.nextauthState = 'error';
    emit(host, 'nextauth:error', { server, status: res.status });
    return;
  }
  // Our own markup from our own origin, with every value escaped on the server.
  host.innerHTML = await res.text();
  const part = (name) => host.querySelector(`[data-part="${name}"]`);
  const push = mountPush(
    {
      block: part('push'),
      button: part('send-push'),
      sent: part('push-sent'),
      match: part('push-match'),
      status: part('status'),
    },
    server,
  );
  const login = mountLogin(
    {
      qr: part('qr'),
      qrText: part('qr-text'),
      status: part('status'),
      countdown: part('countdown'),
      restart: part('restart'),
      views: [...host.querySelectorAll('[data-view]')],
      openAppBlock: part('open-app-block'),
      openApp: part('open-app'),
      openAppFallback: part('open-app-fallback'),
    },
    {
      server,
      onView: push.onView,
      onFinal(view, status) {
        host.dataset.nextauthState = view;
        if (view === 'loggedin') emit(host, finalEvents.loggedin, { server, userid: status?.userid ?? null });
        else if (finalEvents[view])
          emit(host, finalEvents[view], { server, reason: status?.declineReason ?? 'declined' });
        else if (view === 'expired') emit(host, 'nextauth:expired', { server });
        else if (view === 'error') emit(host, 'nextauth:error', { server });
      },
    },
  );
  login.start();
}

for (const host of document.querySelectorAll('[data-nextauth-login]')) mountBlock(host);
