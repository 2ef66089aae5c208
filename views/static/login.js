// Login page: the QR login of login-core.js on the page's own markup; after it, the page goes on to the
// logged-in page, or (serving an OIDC authorization) hands the login to the IdP.
import { applyBranding } from './branding.js';
import { mountLogin } from './login-core.js';
import { mountPush } from './login-push.js';

const root = document.getElementById('login');
const server = root.dataset.server;
const lang = document.documentElement.lang || 'en';
// Set when the page serves an OIDC authorization: where the IdP collects this login (oidc-routes.ts).
const complete = root.dataset.complete;
// Set when the page logs in for another front door (SAML, forward-auth): where to go back to afterwards, and
// for a step-up how young the login must be; both go back to `complete`, which checks them again.
const returnTo = root.dataset.returnTo;
const maxAge = root.dataset.maxAge;
const hint = document.getElementById('login-hint');
if (hint?.dataset.hint) hint.hidden = false;
const byId = (id) => document.getElementById(id);

const push = mountPush(
  {
    block: byId('push'),
    button: byId('send-push'),
    sent: byId('push-sent'),
    match: byId('push-match'),
    status: byId('status'),
  },
  server,
);

const login = mountLogin(
  {
    qr: byId('qr'),
    qrText: byId('qr-text'),
    status: byId('status'),
    countdown: byId('countdown'),
    restart: byId('restart'),
    views: [...document.querySelectorAll('[data-view]')],
    openAppBlock: byId('open-app-block'),
    openApp: byId('open-app'),
    openAppFallback: byId('open-app-fallback'),
  },
  {
    server,
    // An https app link (universal link / Android App Link) of the app, if the server has one: from the
    // markup or, once it has arrived, from the server's branding (read at every code).
    get appLink() {
      return root.dataset.appLink;
    },
    onView: push.onView,
    onFinal(view) {
      if (complete && (view === 'loggedin' || view === 'declined' || view === 'notme' || view === 'locked'))
        finish();
      else if (view === 'loggedin')
        setTimeout(
          () =>
            location.assign(
              `/login/${encodeURIComponent(server)}/done?ui_locales=${encodeURIComponent(lang)}`,
            ),
          300,
        );
    },
  },
);

// OIDC: the IdP turns the NS login (or the decline) into its answer and sends the browser back to the app.
let finishing = false;
let restarted = false;
async function finish() {
  if (finishing) return;
  finishing = true;
  try {
    const res = await fetch(complete, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        returnTo ? { return_to: returnTo, ...(maxAge ? { max_age: Number(maxAge) } : {}) } : {},
      ),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok && typeof body.location === 'string') {
      location.assign(body.location);
      return;
    }
    finishing = false;
    // Declined on the phone: the page already says so.
    if (body.reason === 'login_declined') return;
    // A login of this browser from before this request, or one already used: start a fresh one, once.
    if ((body.reason === 'login_stale' || body.reason === 'login_used') && !restarted) {
      restarted = true;
      login.start();
      return;
    }
    login.show('error');
  } catch {
    finishing = false;
    login.show('error');
  }
}

async function brand() {
  const b = await applyBranding(server, { name: byId('server-name'), logo: byId('brand-logo') });
  if (!root.dataset.appLink && typeof b?.appLink === 'string' && b.appLink.startsWith('https://'))
    root.dataset.appLink = b.appLink;
  // Offered only where the server's policy allows recovery codes.
  if (b?.recoveryCodes === true) byId('recover-link').hidden = false;
}

// The server's https app link belongs on the first code already; branding is one small cached request.
brand().finally(() => login.start());
