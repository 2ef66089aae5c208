// The embedding demo's host page: lists the events the login block and the session footer send it, the way
// an integrator's page would react to them.
const list = document.getElementById('events');
for (const type of [
  'nextauth:loggedin',
  'nextauth:declined',
  'nextauth:expired',
  'nextauth:error',
  'nextauth:loggedout',
  'nextauth:enrolled',
  'nextauth:enrol-expired',
  'nextauth:enrol-refused',
  'nextauth:enrol-error',
]) {
  document.addEventListener(type, (e) => {
    const item = document.createElement('li');
    item.dataset.type = type;
    if (e.detail?.userid) item.dataset.userid = e.detail.userid;
    item.textContent = `${type} ${JSON.stringify(e.detail ?? {})}`;
    list.append(item);
  });
}

// An integrator's server would put the view token of the enrol link it made into its page; the demo takes it
// from its own URL's fragment (`#t=…`), which no server sees.
const viewToken = new URLSearchParams(location.hash.slice(1)).get('t');
const enrolBlock = document.getElementById('enrol-block');
if (viewToken && enrolBlock) {
  history.replaceState(null, '', location.pathname + location.search);
  enrolBlock.dataset.viewToken = viewToken;
  enrolBlock.setAttribute('data-nextauth-enrol', '');
}
