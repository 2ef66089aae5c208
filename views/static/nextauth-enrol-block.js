// Embeddable enrol block: turns every `<div data-nextauth-enrol data-server="…" data-view-token="…">` (or
// `data-page-url="…/enrol/{server}#t=…"`) of the page into the enrol view of that link (enrol-core.js, the
// enrol page's own logic), and tells the host page how it ended through DOM events on that element, which
// bubble: `nextauth:enrolled` (detail { server, description }), `nextauth:enrol-expired` (detail { server }),
// `nextauth:enrol-refused` (detail { server, reason }: used, claimed, invalid), `nextauth:enrol-error`.
// Same origin only: the markup, the view's cookie and the scripts all come from the IdP's host.
import { mountEnrol } from './enrol-core.js';

function emit(host, type, detail) {
  host.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail }));
}

/** The view token: given as such, or the `t` of a page URL's fragment. */
function tokenOf(host) {
  if (host.dataset.viewToken) return host.dataset.viewToken;
  if (!host.dataset.pageUrl) return '';
  const url = new URL(host.dataset.pageUrl, location.href);
  return new URLSearchParams(url.hash.slice(1)).get('t') ?? '';
}

async function mountBlock(host) {
  const server = host.dataset.server || 'default';
  const lang = host.dataset.lang || document.documentElement.lang;
  host.dataset.nextauthState = 'loading';
  const res = await fetch(
    `/enrol/${encodeURIComponent(server)}/block${lang ? `?ui_locales=${encodeURIComponent(lang)}` : ''}`,
    { credentials: 'same-origin' },
  );
  if (!res.ok) {
    host.dataset.nextauthState = 'error';
    emit(host, 'nextauth:enrol-error', { server, status: res.status });
    return;
  }
  // Our own markup from our own origin, with every value escaped on the server.
  host.innerHTML = await res.text();
  host.hidden = false;
  const enrol = mountEnrol(host, {
    server,
    token: tokenOf(host),
    onFinal(view, detail) {
      host.dataset.nextauthState = view;
      if (view === 'enrolled')
        emit(host, 'nextauth:enrolled', { server, description: detail?.description ?? null });
      else if (view === 'expired') emit(host, 'nextauth:enrol-expired', { server });
      else if (view === 'error') emit(host, 'nextauth:enrol-error', { server });
      else emit(host, 'nextauth:enrol-refused', { server, reason: view });
    },
  });
  enrol.start();
}

for (const host of document.querySelectorAll('[data-nextauth-enrol]')) mountBlock(host);
