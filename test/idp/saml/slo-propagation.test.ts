// Single logout propagated through the browser: SPs A (HTTP-Redirect SLO) and B (HTTP-POST SLO), both
// @node-saml/node-saml and both signing, and an OIDC client with back-channel logout, in one IdP session. A
// logout at A, at the IdP (`/logout`) or at the OIDC client walks the browser through a signed LogoutRequest
// to every other SAML SP, each LogoutResponse checked back at our SLO endpoint, and ends where it began;
// forged, misdirected and replayed LogoutResponses are refused and move nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SAML } from '@node-saml/node-saml';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import {
  authorize,
  authRequest,
  Browser,
  confirmLogout,
  discover,
  type Embedded,
  logoutForm,
  Phone,
  redirectUri,
  startEmbedded,
} from '../oidc/harness.js';
import { createSp, postForm, redirectRequest, registerSp, type TestSp, testKey, toAcs } from './harness.js';

const sloA = 'http://127.0.0.1:9/saml/a/slo';
const sloB = 'http://127.0.0.1:9/saml/b/slo';

/** An RP's back-channel logout endpoint: counts the logout tokens it is sent. */
async function receiver(): Promise<{ url: string; tokens: string[]; close(): Promise<void> }> {
  const tokens: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (token) tokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`,
    tokens,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

describe('idp/saml SLO propagated to the other SPs (front channel) and OIDC (back channel)', function () {
  this.timeout(120_000);
  let e: Embedded;
  let phone: Phone;
  let a: TestSp;
  let b: TestSp;
  let rp: Awaited<ReturnType<typeof receiver>>;
  let webapp: oidc.Configuration;

  before(async () => {
    rp = await receiver();
    e = await startEmbedded({ env: { NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1' } });
    phone = await Phone.open(e.url);
    await phone.enrol(e.url, 'dora');
    const logoutUrl = `${e.url}/saml/default/slo`;
    a = await createSp(e, 'https://a.example/sp', { signRequests: true, logoutUrl, logoutCallbackUrl: sloA });
    b = await createSp(e, 'https://b.example/sp', { signRequests: true, logoutUrl, logoutCallbackUrl: sloB });
    const signing = (m: string) => m.replace('AuthnRequestsSigned="false"', 'AuthnRequestsSigned="true"');
    await registerSp(
      e,
      a,
      {},
      signing(a.metadata).replace(
        /(<SingleLogoutService Binding=")[^"]+/,
        '$1urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
      ),
    );
    // B keeps node-saml's HTTP-POST SingleLogoutService.
    expect(b.metadata).to.contain('bindings:HTTP-POST');
    await registerSp(e, b, {}, signing(b.metadata));
    const { secret } = await e.addClient({
      clientId: 'slo-webapp',
      redirectUris: [redirectUri],
      backchannelLogoutUri: rp.url,
      postLogoutRedirectUris: [`${redirectUri}/bye`],
    });
    webapp = await discover(e.issuer, 'slo-webapp', secret);
  });
  after(async () => {
    await e?.close();
    await rp?.close();
  });

  const follow = async (br: Browser, res: Response) => {
    expect(res.status, await res.clone().text()).to.equal(303);
    return br.fetch(new URL(res.headers.get('location') ?? '', e.url).href);
  };
  const samlLogin = async (br: Browser, sp: TestSp, withPhone?: Phone) => {
    const form = await toAcs(br, await br.fetch(await redirectRequest(sp)), withPhone);
    const { profile } = await sp.saml.validatePostResponseAsync({
      SAMLResponse: form.fields.SAMLResponse ?? '',
    });
    if (!profile) throw new Error('no profile');
    return profile;
  };
  /** A at the phone, the OIDC client and B without it: one IdP session with three participants. */
  const loginEverywhere = async (br: Browser) => {
    const profileA = await samlLogin(br, a, phone);
    const request = await authRequest(webapp);
    const callback = await authorize(br, request);
    const tokens = await oidc.authorizationCodeGrant(webapp, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    const profileB = await samlLogin(br, b);
    return { profileA, profileB, tokens };
  };
  /** The hop page to B: its form, validated by B as node-saml does. */
  const atB = async (res: Response) => {
    expect(res.status).to.equal(200);
    const form = postForm(await res.text());
    expect(form.action).to.equal(sloB);
    const { profile, loggedOut } = await b.saml.validatePostRequestAsync({
      SAMLRequest: form.fields.SAMLRequest ?? '',
    });
    expect(loggedOut).to.equal(true);
    if (!profile) throw new Error('no LogoutRequest profile');
    return { profile, xml: Buffer.from(form.fields.SAMLRequest ?? '', 'base64').toString('utf8') };
  };
  /** The hop page to A (HTTP-Redirect): its link, validated by A. */
  const atA = async (res: Response) => {
    expect(res.status).to.equal(200);
    const href = /<a id="saml-redirect" href="([^"]+)"/.exec(await res.text())?.[1];
    expect(href, 'a redirect hop').to.be.a('string');
    const url = new URL(unescapeHtml(href ?? ''));
    expect(`${url.origin}${url.pathname}`).to.equal(sloA);
    const { profile, loggedOut } = await a.saml.validateRedirectAsync(
      Object.fromEntries(url.searchParams),
      url.search.slice(1),
    );
    expect(loggedOut).to.equal(true);
    if (!profile) throw new Error('no LogoutRequest profile');
    return profile;
  };
  const liveSessions = async () =>
    Number((await e.runtime.dbs.idp?.('idp_sessions').whereNull('ended_at').count({ n: '*' }))?.[0]?.n ?? 0);
  const chains = async () =>
    ((await e.runtime.dbs.idp?.('idp_saml_logouts').select('id', 'step', 'state', 'awaiting_request_id')) ??
      []) as { id: string; step: number; state: string; awaiting_request_id: string | null }[];

  it('a logout at A ends B (signed LogoutRequest, its NameID and SessionIndex) and the OIDC client', async () => {
    const br = new Browser(e.url);
    const { profileA, profileB } = await loginEverywhere(br);
    const tokensBefore = rp.tokens.length;
    const first = await br.fetch(await a.saml.getLogoutUrlAsync(profileA, 'back-to-a', {}));
    const done = await follow(br, first);
    // Ended at once, before the browser is walked: OIDC heard over the back channel.
    expect(rp.tokens.length).to.equal(tokensBefore + 1);
    const hop = await follow(br, done);
    const { profile, xml } = await atB(hop);
    expect(profile.nameID).to.equal(profileB.nameID);
    expect(profile.sessionIndex).to.equal(profileB.sessionIndex);
    expect(profile.issuer).to.equal(`${e.url}/saml/default/metadata`);
    expect(xml).to.contain('<ds:Signature');
    // B answers; the chain ends with A's own LogoutResponse (HTTP-Redirect, signed, RelayState kept).
    const answer = await br.fetch(await b.saml.getLogoutResponseUrlAsync(profile, '', {}, true));
    const last = await follow(br, answer);
    expect(last.status).to.equal(303);
    const back = new URL(last.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).to.equal(sloA);
    expect(back.searchParams.get('RelayState')).to.equal('back-to-a');
    const checked = await a.saml.validateRedirectAsync(
      Object.fromEntries(back.searchParams),
      back.search.slice(1),
    );
    expect(checked.loggedOut).to.equal(true);
    const [chain] = (await chains()).filter((c) => JSON.parse(c.state).done);
    expect(JSON.parse(chain?.state ?? '{}').outcomes).to.deep.equal([
      { spEntityId: b.entityId, outcome: 'success' },
    ]);
    // Logged out: the next AuthnRequest needs the phone.
    const again = await br.fetch(await redirectRequest(a));
    const page = await follow(br, again);
    expect(await page.text()).to.contain('data-complete=');
  });

  it('`/logout` at the IdP ends A and B, then shows the logged-out page', async () => {
    const br = new Browser(e.url);
    const { profileA, profileB } = await loginEverywhere(br);
    const tokensBefore = rp.tokens.length;
    const res = await br.fetch('/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: e.url },
      body: 'logout=yes',
    });
    expect(rp.tokens.length).to.equal(tokensBefore + 1);
    expect(await liveSessions()).to.equal(0);
    const requests = [];
    let step = await follow(br, res);
    for (let i = 0; i < 2; i++) {
      const html = await step.clone().text();
      const profile = html.includes('saml-redirect') ? await atA(step) : (await atB(step)).profile;
      requests.push(profile);
      const sp = profile.nameID === profileA.nameID && html.includes('saml-redirect') ? a : b;
      step = await follow(br, await br.fetch(await sp.saml.getLogoutResponseUrlAsync(profile, '', {}, true)));
    }
    expect(requests.map((p) => p.sessionIndex).sort()).to.deep.equal(
      [profileA.sessionIndex, profileB.sessionIndex].sort(),
    );
    const out = await follow(br, step);
    expect(out.status).to.equal(200);
    expect(await out.text()).to.contain('id="loggedout"');
  });

  it('an OIDC RP-initiated logout ends A and B before the RP’s post-logout URI', async () => {
    const br = new Browser(e.url);
    const { tokens } = await loginEverywhere(br);
    const page = await br.fetch(
      oidc.buildEndSessionUrl(webapp, {
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: `${redirectUri}/bye`,
      }).href,
    );
    const { action, xsrf } = logoutForm(await page.text());
    const confirmed = await confirmLogout(br, action, { xsrf, logout: 'yes' });
    let step = await follow(br, confirmed);
    for (let i = 0; i < 2; i++) {
      const html = await step.clone().text();
      const [sp, profile] = html.includes('saml-redirect')
        ? [a, await atA(step)]
        : [b, (await atB(step)).profile];
      step = await follow(br, await br.fetch(await sp.saml.getLogoutResponseUrlAsync(profile, '', {}, true)));
    }
    expect(step.status).to.equal(303);
    expect(step.headers.get('location')).to.match(/\/bye(\?|$)/);
  });

  describe('LogoutResponses that are refused (nothing moves)', () => {
    /** `/logout` with A and B: the chain stopped at the first hop, awaiting that SP's answer. */
    const awaitingChain = async () => {
      const br = new Browser(e.url);
      await loginEverywhere(br);
      const res = await br.fetch('/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: e.url },
        body: 'logout=yes',
      });
      const hop = await follow(br, res);
      const html = await hop.clone().text();
      const [sp, profile] = html.includes('saml-redirect')
        ? [a, await atA(hop)]
        : [b, (await atB(hop)).profile];
      const chain = (await chains()).find((c) => c.awaiting_request_id === profile.ID);
      expect(chain).to.not.equal(undefined);
      return { br, sp, profile, chain };
    };
    const refused = async (br: Browser, url: string, error: string) => {
      const res = await br.fetch(url);
      expect(res.status).to.equal(400);
      expect(await res.text()).to.contain(`data-error="${error}"`);
    };
    const unchanged = async (chain: { id: string; step: number } | undefined) => {
      const now = (await chains()).find((c) => c.id === chain?.id);
      expect(Number(now?.step)).to.equal(Number(chain?.step));
    };

    it('a bad signature', async () => {
      const { br, sp, profile, chain } = await awaitingChain();
      const impostor = new SAML({
        ...sp.saml.options,
        privateKey: testKey('impostor').privateKeyPem,
      });
      await refused(br, await impostor.getLogoutResponseUrlAsync(profile, '', {}, true), 'bad_signature');
      const tampered = new URL(await sp.saml.getLogoutResponseUrlAsync(profile, '', {}, true));
      tampered.searchParams.set('RelayState', 'added');
      await refused(br, tampered.href, 'bad_signature');
      await unchanged(chain);
    });

    it('a wrong InResponseTo', async () => {
      const { br, sp, profile, chain } = await awaitingChain();
      await refused(
        br,
        await sp.saml.getLogoutResponseUrlAsync({ ...profile, ID: '_not-ours' }, '', {}, true),
        'unexpected_response',
      );
      // The right ID from the other SP is not this SP's either.
      const other = sp === a ? b : a;
      await refused(
        br,
        await other.saml.getLogoutResponseUrlAsync(profile, '', {}, true),
        'unexpected_response',
      );
      await unchanged(chain);
    });

    it('a replayed one', async () => {
      const { br, sp, profile, chain } = await awaitingChain();
      const url = await sp.saml.getLogoutResponseUrlAsync(profile, '', {}, true);
      expect((await br.fetch(url)).status).to.equal(303);
      const after = (await chains()).find((c) => c.id === chain?.id);
      await refused(br, url, 'replayed');
      await unchanged(after);
    });

    it('the same answer twice at once: one moves the chain on, the other is a replay', async () => {
      const { br, sp, profile, chain } = await awaitingChain();
      const url = await sp.saml.getLogoutResponseUrlAsync(profile, '', {}, true);
      const results = await Promise.all([br.fetch(url), br.fetch(url)]);
      expect(results.map((r) => r.status).sort()).to.deep.equal([303, 400]);
      const now = (await chains()).find((c) => c.id === chain?.id);
      expect(Number(now?.step)).to.equal(Number(chain?.step) + 1);
      expect(JSON.parse(now?.state ?? '{}').outcomes).to.deep.equal([
        { spEntityId: sp.entityId, outcome: 'success' },
      ]);
    });

    it('from an unknown SP', async () => {
      const { br, profile, chain } = await awaitingChain();
      const stranger = await createSp(e, 'https://stranger.example/sp', {
        signRequests: true,
        logoutUrl: `${e.url}/saml/default/slo`,
      });
      await refused(br, await stranger.saml.getLogoutResponseUrlAsync(profile, '', {}, true), 'unknown_sp');
      await unchanged(chain);
    });

    it('an SP that does not answer is skipped when the browser comes back', async () => {
      const { br, sp, chain } = await awaitingChain();
      // The Back button reloads the hop page: the chain moves on to the other SP.
      const again = await br.fetch(`/saml/default/slo/next?c=${chain?.id}`);
      const html = await again.clone().text();
      expect(html).to.contain(sp === a ? 'id="saml-post"' : 'id="saml-redirect"');
      const state = JSON.parse((await chains()).find((c) => c.id === chain?.id)?.state ?? '{}');
      expect(state.outcomes).to.deep.equal([{ spEntityId: sp.entityId, outcome: 'no_answer' }]);
      // An unknown chain is the "logout has ended" page.
      const gone = await br.fetch(`/saml/default/slo/next?c=${'x'.repeat(32)}`);
      expect(gone.status).to.equal(400);
      expect(await gone.text()).to.contain('data-error="logout_expired"');
    });

    it("the hop page's give-up link: names the awaited request (unreached); a malformed or stale one moves nothing", async () => {
      const { br, sp, profile, chain } = await awaitingChain();
      // The hop page carries it, with the chain cookie set for a return to /logout.
      expect(br.cookies.find((c) => c.name === 'nextauth_saml_slo')?.value).to.equal(`default.${chain?.id}`);
      const base = `/saml/default/slo/next?c=${chain?.id}`;
      const malformed = await br.fetch(`${base}&u=${encodeURIComponent('<x>')}`);
      expect(malformed.status).to.equal(400);
      expect(await malformed.text()).to.contain('data-error="malformed"');
      await refused(br, `${base}&u=_${'0'.repeat(40)}`, 'logout_expired');
      await unchanged(chain);
      // The awaited one: recorded unreached, and the next hop carries its own give-up link.
      const next = await br.fetch(`${base}&u=${profile.ID}`);
      const html = await next.text();
      expect(html).to.match(
        /data-give-up="\/saml\/default\/slo\/next\?c=[^"&]+&amp;u=_[0-9a-f]{40}" data-give-up-after="\d+"/,
      );
      const state = JSON.parse((await chains()).find((c) => c.id === chain?.id)?.state ?? '{}');
      expect(state.outcomes).to.deep.equal([{ spEntityId: sp.entityId, outcome: 'unreached' }]);
    });
  });
});
