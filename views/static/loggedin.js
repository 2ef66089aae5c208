// Logged-in page: shows who the browser's NS session belongs to, in the page's language (texts in data-*).
(async () => {
  const root = document.getElementById('loggedin');
  const who = document.getElementById('who');
  const server = encodeURIComponent(root.dataset.server);
  const res = await fetch(`/ns/servers/${server}/session`, { credentials: 'same-origin' });
  const s = res.ok ? await res.json() : undefined;
  if (s?.loggedin) {
    who.textContent = who.dataset.as.replace('{userid}', s.userid);
    who.dataset.userid = s.userid;
  } else {
    who.textContent = who.dataset.notLoggedIn;
  }
})();
