// The embedding demo's host page: lists the events the login block and the session footer send it, the way
// an integrator's page would react to them.
const list = document.getElementById('events');
for (const type of [
  'nextauth:loggedin',
  'nextauth:declined',
  'nextauth:expired',
  'nextauth:error',
  'nextauth:loggedout',
]) {
  document.addEventListener(type, (e) => {
    const item = document.createElement('li');
    item.dataset.type = type;
    if (e.detail?.userid) item.dataset.userid = e.detail.userid;
    item.textContent = `${type} ${JSON.stringify(e.detail ?? {})}`;
    list.append(item);
  });
}
