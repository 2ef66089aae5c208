// Enrol page: the enrol view of enrol-core.js on the page's own markup, opened with the view token of the page
// URL's fragment (`#t=…`). The token leaves the address bar at once (screenshots, shared screens, history)
// and stays in this tab's sessionStorage, so a reload still opens the view, until the view is over.
import { mountEnrol } from './enrol-core.js';

const root = document.getElementById('enrol');
const server = root.dataset.server;
const stored = `nextauth-enrol:${server}`;
const fromUrl = new URLSearchParams(location.hash.slice(1)).get('t');
if (fromUrl) {
  sessionStorage.setItem(stored, fromUrl);
  history.replaceState(null, '', location.pathname + location.search);
}
const token = fromUrl ?? sessionStorage.getItem(stored) ?? '';

const enrol = mountEnrol(root, {
  server,
  token,
  onFinal(view) {
    if (view !== 'error') sessionStorage.removeItem(stored);
  },
});

async function brand() {
  try {
    const res = await fetch(`/ns/servers/${encodeURIComponent(server)}/branding`, { credentials: 'omit' });
    if (!res.ok) return;
    const b = await res.json();
    if (typeof b.displayName === 'string') document.getElementById('server-name').textContent = b.displayName;
    const logo = document.getElementById('brand-logo');
    if (typeof b.logo === 'string' && b.logo.startsWith('data:image/')) {
      logo.src = b.logo;
      logo.hidden = false;
    }
  } catch {
    // Branding is decoration: the page works without it.
  }
}

brand();
enrol.start();
