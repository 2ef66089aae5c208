// Recovery page: userid + one recovery code → an enrol QR for a new phone. Texts come from the page; a server
// without recovery codes (its branding says so, and the endpoint answers 404) shows that instead of the form.
import { applyBranding } from './branding.js';
import { showEnrolLink } from './devices-enrol.js';

const root = document.getElementById('recover');
const server = root.dataset.server;
const lang = document.documentElement.lang || 'en';
const byId = (id) => document.getElementById(id);
const error = byId('recover-error');

function off() {
  byId('recover-form-view').hidden = true;
  byId('recover-off').hidden = false;
  byId('h-off').focus();
}

byId('recover-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  error.textContent = '';
  let res;
  let data = {};
  try {
    res = await fetch(`/ns/servers/${encodeURIComponent(server)}/recovery`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userid: byId('userid').value.trim(), code: byId('code').value.slice(0, 32) }),
    });
    data = await res.json().catch(() => ({}));
  } catch {
    error.textContent = root.dataset.error;
    return;
  }
  if (res.status === 201) {
    showEnrolLink(data, lang);
    byId('recover-form-view').hidden = true;
    byId('enrol-view').hidden = false;
    byId('h-enrol').focus();
    return;
  }
  if (res.status === 404) return off();
  error.textContent =
    data.reason === 'recovery_code_invalid'
      ? root.dataset.invalid
      : data.reason === 'recovery_locked'
        ? root.dataset.locked
        : res.status === 429
          ? root.dataset.rateLimited
          : root.dataset.error;
  byId('code').focus();
});

applyBranding(server, { name: byId('server-name'), logo: byId('brand-logo') }).then((b) => {
  if (b && b.recoveryCodes === false) off();
});
