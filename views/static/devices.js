// "My devices": the phones of the user this browser is logged in as — rename, remove (with confirmation),
// add another (an enrol QR) and recovery codes. Every text comes from the rendered page (data-* and
// template), none from here; every write is a JSON request (the NS browser endpoints' CSRF rule).
import { applyBranding } from './branding.js';
import { showEnrolLink } from './devices-enrol.js';

const root = document.getElementById('devices');
const server = root.dataset.server;
const base = `/ns/servers/${encodeURIComponent(server)}/devices`;
const lang = document.documentElement.lang || 'en';
const byId = (id) => document.getElementById(id);
const status = byId('status');
const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: 'medium' });
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (whole, k) => values[k] ?? whole);
let state;

function say(text) {
  status.textContent = text;
}

function show(section) {
  for (const id of ['login-needed', 'list-view', 'enrol-view']) byId(id).hidden = id !== section;
}

async function send(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = await res.json().catch(() => ({}));
  return { res, data };
}

/** The answer to a refused write: log in again, slow down, or a plain error. */
function refused(res, data) {
  if (res.status === 401) return load();
  if (data.reason === 'reauthentication_required') {
    byId('stale').hidden = false;
    say(byId('stale').textContent.trim());
    return undefined;
  }
  say(res.status === 429 ? root.dataset.rateLimited : root.dataset.error);
  return undefined;
}

const nameOf = (d) => d.name ?? root.dataset.unnamed;

function row(device) {
  const li = byId('device-row').content.firstElementChild.cloneNode(true);
  li.dataset.id = device.id;
  li.querySelector('.device-name').textContent = nameOf(device);
  li.querySelector('.current').hidden = !device.current;
  li.querySelector('.blocked').hidden = !device.blocked;
  li.querySelector('.device-meta').textContent = fill(root.dataset.meta, {
    created: dateFormat.format(new Date(device.createdAt)),
    used: device.lastLoginAt ? dateFormat.format(new Date(device.lastLoginAt)) : root.dataset.never,
  });
  const rename = li.querySelector('.rename');
  const remove = li.querySelector('.remove');
  // Buttons of a list need names that say which phone they act on.
  rename.setAttribute('aria-label', fill(root.dataset.renameLabel, { name: nameOf(device) }));
  remove.setAttribute('aria-label', fill(root.dataset.removeLabel, { name: nameOf(device) }));
  const form = li.querySelector('.rename-form');
  const input = li.querySelector('.rename-input');
  input.setAttribute('aria-label', fill(root.dataset.renameLabel, { name: nameOf(device) }));
  rename.addEventListener('click', () => {
    form.hidden = false;
    input.value = device.name ?? '';
    input.focus();
  });
  li.querySelector('.cancel').addEventListener('click', () => {
    form.hidden = true;
    rename.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const { res, data } = await send('PATCH', `/${encodeURIComponent(device.id)}`, { name: input.value });
    if (!res.ok) return refused(res, data);
    await load();
    say(root.dataset.renamed);
    document.querySelector(`li[data-id="${CSS.escape(device.id)}"] .rename`)?.focus();
  });
  remove.addEventListener('click', () => confirmRemove(device, remove));
  return li;
}

function confirmRemove(device, opener) {
  const dialog = byId('confirm-remove');
  const text = byId('confirm-text');
  text.textContent = fill(text.dataset.text, { name: nameOf(device) });
  byId('confirm-current').hidden = !device.current;
  const yes = byId('confirm-yes');
  const no = byId('confirm-no');
  const close = () => {
    yes.onclick = null;
    no.onclick = null;
    dialog.close();
  };
  no.onclick = () => {
    close();
    opener.focus();
  };
  yes.onclick = async () => {
    close();
    const { res, data } = await send('DELETE', `/${encodeURIComponent(device.id)}`, {});
    if (!res.ok) return refused(res, data);
    if (data.loggedOut) {
      // This browser logged in with that phone: it is logged out now.
      location.assign(`/login/${encodeURIComponent(server)}?ui_locales=${encodeURIComponent(lang)}`);
      return;
    }
    await load();
    say(fill(root.dataset.removed, { name: nameOf(device) }));
    byId('h-list').focus();
  };
  dialog.showModal();
  no.focus();
}

function render() {
  show('list-view');
  const who = byId('who');
  who.textContent = fill(who.dataset.text, { userid: state.userid });
  byId('stale').hidden = Date.now() < Date.parse(state.freshUntil);
  const list = byId('device-list');
  list.replaceChildren(...state.devices.map(row));
  const codes = byId('codes');
  codes.hidden = !state.recoveryCodes.enabled;
  const left = byId('codes-left');
  left.textContent = fill(left.dataset.text, { count: String(state.recoveryCodes.remaining) });
}

async function load() {
  const res = await fetch(base, { credentials: 'same-origin' });
  if (res.status === 401) {
    show('login-needed');
    say('');
    return;
  }
  if (!res.ok) {
    say(root.dataset.error);
    return;
  }
  state = await res.json();
  render();
  say('');
}

byId('add-device').addEventListener('click', async () => {
  const { res, data } = await send('POST', '/enrol-link', {});
  if (!res.ok) return refused(res, data);
  showEnrolLink(data, lang);
  show('enrol-view');
  byId('h-enrol').focus();
});

byId('enrol-done').addEventListener('click', async () => {
  await load();
  byId('add-device').focus();
});

byId('codes-generate').addEventListener('click', async () => {
  const { res, data } = await send('POST', '/recovery-codes', {});
  if (!res.ok) return refused(res, data);
  const list = byId('codes-list');
  list.replaceChildren(
    ...data.codes.map((code) => {
      const li = document.createElement('li');
      li.textContent = code;
      return li;
    }),
  );
  byId('codes-shown').hidden = false;
  state.recoveryCodes.remaining = data.codes.length;
  const left = byId('codes-left');
  left.textContent = fill(left.dataset.text, { count: String(data.codes.length) });
  say(root.dataset.codesMade);
});

applyBranding(server, { name: byId('server-name'), logo: byId('brand-logo') });
load();
