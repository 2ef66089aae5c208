// The front-door login page as login.js drives it, for the suites of the IdP session.
import { expect } from 'chai';
import type { Browser, Phone } from '../oidc/harness.js';

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export interface LoginPage {
  complete: string;
  returnTo: string;
  maxAge: string;
}

/** What login.js does: read the page, start the NS login, let the phone answer; returns the page's data. */
export async function frontDoorQrLogin(
  b: Browser,
  phone: Phone | undefined,
  pageUrl: string,
  decision: 'approve' | 'decline' = 'approve',
): Promise<LoginPage> {
  const page = await b.fetch(pageUrl);
  expect(page.status, pageUrl).to.equal(200);
  const html = await page.text();
  const attr = (name: string) => unescapeHtml(new RegExp(`data-${name}="([^"]*)"`).exec(html)?.[1] ?? '');
  const data = { complete: attr('complete'), returnTo: attr('return-to'), maxAge: attr('max-age') };
  expect(data.complete).to.equal('/login/default/complete');
  if (phone) {
    const started = await b.postJson('/ns/servers/default/browser-session');
    expect(started.status).to.be.oneOf([200, 201]);
    const { qrUri } = (await (await b.fetch('/ns/servers/default/session/qr')).json()) as { qrUri: string };
    await phone.answer(qrUri, decision);
  }
  return data;
}

export const completeBody = (data: LoginPage) => ({
  return_to: data.returnTo,
  ...(data.maxAge ? { max_age: Number(data.maxAge) } : {}),
});
