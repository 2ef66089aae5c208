// The OIDC pages besides the login: the consent page of third-party clients and the pages oidc-provider asks
// us to render for RP-initiated logout, in the style of the login page (its stylesheet, no third-party
// assets, the login page's CSP, no script). Texts come from the login pages' catalogues (idp/i18n), in the
// locale the login page would choose: `ui_locales` of the request, else Accept-Language, else English.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { type Locale, type MessageKey, messages } from '../i18n/catalogue.js';
import { escapeHtml, renderTemplate } from '../views.js';
import { pageCsp, pageLocale } from './login-routes.js';

/** The catalogue key of each scope's plain-language description; other scopes get `oidcOtherScope`. */
const scopeTexts: Record<string, MessageKey> = {
  openid: 'oidcScopeOpenid',
  profile: 'oidcScopeProfile',
  email: 'oidcScopeEmail',
  groups: 'oidcScopeGroups',
  offline_access: 'oidcScopeOfflineAccess',
};

const fill = (text: string, values: Record<string, string>) =>
  text.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');

const page = (id: string, title: string, body: string, locale: Locale) =>
  `<!doctype html>
<html lang="${locale}">
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
  ctx.vary('Accept-Language');
}

/** RP-initiated logout accepts `ui_locales` (OIDC RP-Initiated Logout 1.0 §2); else the browser's languages. */
const logoutLocale = (ctx: KoaContextWithOIDC): Locale => pageLocale(ctx, ctx.oidc.params?.ui_locales);

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
  const locale = logoutLocale(ctx);
  const t = messages(locale);
  const body = renderTemplate(
    `  <h1>{{question}}</h1>
${client ? '  <p id="logout-client">{{from}}</p>\n' : ''}  <p><button id="logout" type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>{{yes}}</button></p>
  <p><button id="logout-no" type="submit" form="op.logoutForm">{{no}}</button></p>`,
    {
      question: fill(t.oidcLogoutQuestion, { server }),
      from: fill(t.oidcLogoutFrom, { client: client ?? '' }),
      yes: t.oidcLogoutYes,
      no: t.oidcLogoutNo,
    },
  );
  const back = ctx.oidc.params?.post_logout_redirect_uri;
  send(ctx, page('logout', t.oidcLogoutTitle, `${form}\n${body}`, locale), [
    typeof back === 'string' ? back : undefined,
  ]);
}

/** The consent page of a third-party client: what it asks for, and a form that posts the decision. */
export function consentPage(values: {
  server: string;
  client: string;
  user: string;
  scopes: string[];
  claims: string[];
  action: string;
  locale: Locale;
}): string {
  const t = messages(values.locale);
  const items = [
    ...values.scopes.map((scope) => {
      const key = Object.hasOwn(scopeTexts, scope) ? scopeTexts[scope] : undefined;
      return key ? t[key] : fill(t.oidcOtherScope, { scope });
    }),
    ...values.claims.map((claim) => fill(t.oidcClaim, { claim })),
  ];
  const body = renderTemplate(
    `  <h1>{{question}}</h1>
  <p id="consent-user">{{as}}</p>
  <p>{{asks}}</p>
`,
    {
      question: fill(t.oidcConsentQuestion, { client: values.client, server: values.server }),
      as: fill(t.oidcConsentAs, { user: values.user }),
      asks: t.oidcConsentAsks,
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
      allow: t.oidcConsentAllow,
      deny: t.oidcConsentDeny,
      note: fill(t.oidcConsentNote, { client: values.client, server: values.server }),
    },
  );
  return page('consent', t.oidcConsentTitle, `${body}${list}${form}`, values.locale);
}

/** Shown after a logout when the client gave no (registered) `post_logout_redirect_uri`. */
export function renderLoggedOutPage(ctx: KoaContextWithOIDC): void {
  const client = clientLabel(ctx);
  const locale = logoutLocale(ctx);
  const t = messages(locale);
  const body = renderTemplate(
    `  <h1>{{title}}</h1>
${client ? '  <p id="logout-client">{{from}}</p>\n' : ''}  <p>{{text}}</p>`,
    {
      title: t.oidcLoggedOutTitle,
      from: fill(t.oidcLoggedOutFrom, { client: client ?? '' }),
      text: t.oidcLoggedOutText,
    },
  );
  send(ctx, page('loggedout', t.oidcLoggedOutTitle, body, locale));
}
