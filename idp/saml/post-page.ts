// The page that carries a Response to the SP's ACS (saml-bindings §3.5.4: an HTML form the browser posts);
// a script of our own submits it, the button does without JavaScript. The CSP lets the form go to that ACS only
// (and the redirects after it, to us).
import type { Context } from 'koa';
import { escapeHtml } from '../views.js';

/**
 * A hop of a logout chain: where the page's script goes when the SP has not answered the browser's request
 * within `afterMs` (the page is still ours while that request hangs), so a dead SP cannot stop the chain.
 */
export interface GiveUp {
  url: string;
  afterMs: number;
}

const giveUpAttributes = (giveUp: GiveUp | undefined) =>
  giveUp
    ? ` data-give-up="${escapeHtml(giveUp.url)}" data-give-up-after="${Math.floor(giveUp.afterMs)}"`
    : '';

export function renderPostPage(
  ctx: Pick<Context, 'set' | 'type' | 'body' | 'status'>,
  form: {
    action: string;
    param: 'SAMLResponse' | 'SAMLRequest';
    value: string;
    relayState?: string | undefined;
  },
  giveUp?: GiveUp,
): void {
  const origin = new URL(form.action).origin;
  ctx.set(
    'Content-Security-Policy',
    // Browsers hold the redirects after the POST to form-action too: 'self' lets an SP answer a LogoutRequest
    // (or its ACS send the browser) back to us.
    `default-src 'none'; script-src 'self'; style-src 'self'; form-action ${origin} 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.type = 'html';
  ctx.status = 200;
  const relay =
    form.relayState !== undefined
      ? `<input type="hidden" name="RelayState" value="${escapeHtml(form.relayState)}">`
      : '';
  ctx.body = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Signing in — nextAuth</title><link rel="stylesheet" href="/static/login.css"></head>
<body>
<main class="card"${giveUpAttributes(giveUp)}>
<form id="saml-post" method="post" action="${escapeHtml(form.action)}">
<input type="hidden" name="${form.param}" value="${escapeHtml(form.value)}">${relay}
<p>Continue to the application.</p>
<button type="submit" id="continue">Continue</button>
</form>
</main>
<script src="/static/saml-post.js"></script>
</body>
</html>
`;
}

/**
 * A hop of IdP-initiated logout to an SP's HTTP-Redirect endpoint as a page of ours (not a 303): the same
 * script follows the link at once, and the page stays in the history for the Back button.
 */
export function renderRedirectPage(
  ctx: Pick<Context, 'set' | 'type' | 'body' | 'status'>,
  location: string,
  giveUp?: GiveUp,
): void {
  ctx.set(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  );
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.type = 'html';
  ctx.status = 200;
  ctx.body = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Signing out — nextAuth</title><link rel="stylesheet" href="/static/login.css"></head>
<body>
<main class="card"${giveUpAttributes(giveUp)}>
<p>Signing you out of the application.</p>
<a id="saml-redirect" href="${escapeHtml(location)}">Continue</a>
</main>
<script src="/static/saml-post.js"></script>
</body>
</html>
`;
}
