// The OIDC pages besides the login: the consent page of third-party clients and the pages oidc-provider asks
// us to render for RP-initiated logout, in the style of the login page (its stylesheet, no third-party
// assets, the login page's CSP, no script). All texts are in `oidcPageTexts`, one place to translate them.
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
  consentTitle: 'Allow access',
  consentQuestion: '{client} wants to use your {server} login',
  consentAs: 'You are logged in as {user}.',
  consentAsks: 'It asks to:',
  consentAllow: 'Allow',
  consentDeny: 'Deny',
  consentNote: 'Allow only applications you trust. {client} is not run by {server}.',
  /** What each scope lets the client do, as the user reads it. */
  scopes: {
    openid: 'know who you are (your user id)',
    profile: 'see your name',
    email: 'see your email address',
    groups: 'see the groups you belong to',
    offline_access: 'keep access while you are not using it',
  } as Record<string, string>,
  otherScope: 'use the permission "{scope}"',
  claim: 'see your "{claim}"',
} as const;

const fill = (text: string, values: Record<string, string>) =>
  text.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');

const page = (id: string, title: string, body: string) =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{title}} — nextAuth</title>
<link rel="stylesheet" href="/static/login.css">
</head>
<body>
<main id="${id}-page">
${body}
</main>
</body>
</html>`.replace('{{title}}', escapeHtml(title));

/**
 * The login page's CSP, with the origins a form of this page may end up at. Browsers apply `form-action` to
 * every redirect after a form post: the consent and logout forms are answered with a redirect to the
 * client (its redirect_uri, its post_logout_redirect_uri — both registered and checked by then), which
 * `form-action 'self'` alone would block.
 */
export function formPageCsp(formTargets: (string | undefined)[]): string {
  const origins = [
    ...new Set(
      formTargets
        .map((target) => (target === undefined ? undefined : URL.parse(target)))
        .filter((url) => url !== undefined && url !== null && /^https?:$/.test(url.protocol))
        .map((url) => url?.origin ?? ''),
    ),
  ];
  const directives = pageCsp
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !d.startsWith('form-action'));
  directives.push(["form-action 'self'", ...origins].join(' '));
  return directives.join('; ');
}

function send(ctx: KoaContextWithOIDC, html: string, formTargets: (string | undefined)[] = []): void {
  ctx.set('Content-Security-Policy', formPageCsp(formTargets));
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
${client ? '  <p id="logout-client">{{from}}</p>\n' : ''}  <p><button id="logout" type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>{{yes}}</button></p>
  <p><button id="logout-no" type="submit" form="op.logoutForm">{{no}}</button></p>`,
    {
      question: fill(t.logoutQuestion, { server }),
      from: fill(t.logoutFrom, { client: client ?? '' }),
      yes: t.logoutYes,
      no: t.logoutNo,
    },
  );
  const back = ctx.oidc.params?.post_logout_redirect_uri;
  send(ctx, page('logout', t.logoutTitle, `${form}\n${body}`), [typeof back === 'string' ? back : undefined]);
}

/** The consent page of a third-party client: what it asks for, and a form that posts the decision. */
export function consentPage(values: {
  server: string;
  client: string;
  user: string;
  scopes: string[];
  claims: string[];
  action: string;
}): string {
  const t = oidcPageTexts;
  const items = [
    ...values.scopes.map((scope) => t.scopes[scope] ?? fill(t.otherScope, { scope })),
    ...values.claims.map((claim) => fill(t.claim, { claim })),
  ];
  const body = renderTemplate(
    `  <h1>{{question}}</h1>
  <p id="consent-user">{{as}}</p>
  <p>{{asks}}</p>
`,
    {
      question: fill(t.consentQuestion, { client: values.client, server: values.server }),
      as: fill(t.consentAs, { user: values.user }),
      asks: t.consentAsks,
    },
  );
  const list = `  <ul id="consent-scopes">\n${items.map((i) => `    <li>${escapeHtml(i)}</li>\n`).join('')}  </ul>\n`;
  const form = renderTemplate(
    `  <form id="consent-form" method="post" action="{{action}}">
    <p><button id="approve" type="submit" name="decision" value="allow">{{allow}}</button>
    <button id="deny" type="submit" name="decision" value="deny">{{deny}}</button></p>
  </form>
  <p id="consent-note">{{note}}</p>`,
    {
      action: values.action,
      allow: t.consentAllow,
      deny: t.consentDeny,
      note: fill(t.consentNote, { client: values.client, server: values.server }),
    },
  );
  return page('consent', t.consentTitle, `${body}${list}${form}`);
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
