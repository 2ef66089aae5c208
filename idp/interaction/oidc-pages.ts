// The pages oidc-provider asks us to render for RP-initiated logout, in the style of the login page (its
// stylesheet, no third-party assets, the login page's CSP). All texts are in `oidcPageTexts`, one place to
// translate them.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { escapeHtml, renderTemplate } from '../views.js';
import { pageCsp } from './login-routes.js';

export const oidcPageTexts = {
  logoutTitle: 'Log out',
  logoutQuestion: 'Do you want to log out of {server}?',
  logoutFrom: 'You are leaving {client}.',
  logoutYes: 'Yes, log me out',
  logoutNo: 'No, stay logged in',
  loggedOutTitle: 'You are logged out',
  loggedOutText: 'You can close this page.',
  loggedOutFrom: 'You logged out of {client}.',
} as const;

const fill = (text: string, values: Record<string, string>) =>
  text.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');

const page = (id: string, title: string, body: string) =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}} — nextAuth</title>
<link rel="stylesheet" href="/static/login.css">
</head>
<body>
<main id="${id}">
${body}
</main>
</body>
</html>`.replace('{{title}}', escapeHtml(title));

function send(ctx: KoaContextWithOIDC, html: string): void {
  ctx.set('Content-Security-Policy', pageCsp);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = html;
}

const clientLabel = (ctx: KoaContextWithOIDC) => {
  const client = ctx.oidc.client;
  return client ? String(client.clientName ?? client.clientId) : undefined;
};

/**
 * The confirmation of RP-initiated logout. `form` is oidc-provider's own `<form id="op.logoutForm">` with
 * its CSRF token (trusted markup, put in as it is); the buttons submit it by their `form` attribute, so the
 * page needs no script. "Yes" ends the IdP session for every client (and the NS login session); "No" ends
 * only the requesting client's part.
 */
export function renderLogoutPage(ctx: KoaContextWithOIDC, form: string, server: string): void {
  const client = clientLabel(ctx);
  const t = oidcPageTexts;
  const body = renderTemplate(
    `  <h1>{{question}}</h1>
${client ? '  <p id="logout-client">{{from}}</p>\n' : ''}  <p><button id="logout-yes" type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>{{yes}}</button></p>
  <p><button id="logout-no" type="submit" form="op.logoutForm">{{no}}</button></p>`,
    {
      question: fill(t.logoutQuestion, { server }),
      from: fill(t.logoutFrom, { client: client ?? '' }),
      yes: t.logoutYes,
      no: t.logoutNo,
    },
  );
  send(ctx, page('logout', t.logoutTitle, `${form}\n${body}`));
}

/** Shown after a logout when the client gave no (registered) `post_logout_redirect_uri`. */
export function renderLoggedOutPage(ctx: KoaContextWithOIDC): void {
  const client = clientLabel(ctx);
  const t = oidcPageTexts;
  const body = renderTemplate(
    `  <h1>{{title}}</h1>
${client ? '  <p id="logout-client">{{from}}</p>\n' : ''}  <p>{{text}}</p>`,
    { title: t.loggedOutTitle, from: fill(t.loggedOutFrom, { client: client ?? '' }), text: t.loggedOutText },
  );
  send(ctx, page('loggedout', t.loggedOutTitle, body));
}
