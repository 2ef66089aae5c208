// Shows an enrol link (the devices page's "add another device" and the recovery page): its QR, the server
// key's visual hash to compare with what the app shows, when the link stops working, and the link as text.

export function showEnrolLink(link, lang) {
  const byId = (id) => document.getElementById(id);
  byId('enrol-qr').src = link.img;
  byId('enrol-qr').dataset.uri = link.uri;
  byId('enrol-text').textContent = link.uri;
  const hash = link.visualHash;
  byId('enrol-hash').textContent = `${hash.emoji.join(' ')} (${hash.words.join(', ')})`;
  const time = new Intl.DateTimeFormat(lang, { timeStyle: 'short' }).format(new Date(link.expiresAt));
  const expires = byId('enrol-expires');
  expires.textContent = expires.dataset.text.replace('{time}', time);
}
