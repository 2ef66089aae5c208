// Logins against a running topology (test/helpers/topology.ts): the virtual server and OIDC client the
// suites use, enrolled phones, and a login that starts over when it meets a dying instance.
import { expect } from 'chai';
import { Browser, enrolLink, type LoginStatusBody, openPhone, type Phone } from './qr-actors.js';
import { type Topology, topologySdkConfig } from './topology.js';

export const server = 'topo';
export const client = {
  id: 'topo-rp',
  secret: 'topo-rp-secret-0123456789abcdef',
  redirectUri: 'http://127.0.0.1:9/cb',
};

/** Creates the virtual server and the OIDC client through the management APIs (public frontend). */
export async function provision(t: Topology): Promise<void> {
  const created = await fetch(`${t.publicUrl}/ns/api/v2/servers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-apikey': t.rootKey },
    body: JSON.stringify({ name: server, displayName: 'Topology' }),
  });
  expect(created.status, await created.clone().text()).to.equal(201);
  const added = await fetch(`${t.publicUrl}/idp/api/v1/servers/${server}/oidc/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-apikey': t.rootKey },
    body: JSON.stringify({ clientId: client.id, secret: client.secret, redirectUris: [client.redirectUri] }),
  });
  expect(added.status, await added.clone().text()).to.equal(201);
}

/** A phone with `userid` enrolled, its connections going to `origin`. */
export async function enrolledPhone(t: Topology, origin: string, userid: string): Promise<Phone> {
  const phone = await openPhone(await topologySdkConfig(t), origin);
  await phone.enrol(await enrolLink(t.publicUrl, t.rootKey, server, userid));
  return phone;
}

/** Polls the stored state (any instance) until the login is final. */
export async function finalState(browser: Browser): Promise<LoginStatusBody> {
  for (;;) {
    const s = await browser.status();
    if (s.state !== 'waiting' && s.state !== 'scanned') return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One login that may meet a dying instance: a failed attempt starts over with a new browser session, as a
 * person would press "try again". Returns the browser whose login completed and how many attempts it took.
 */
export async function loginWithRetry(
  origin: string,
  phone: Phone,
  attempts = 5,
): Promise<{ browser: Browser; attempts: number }> {
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const browser = new Browser(origin, server);
    try {
      await phone.login(await browser.start());
      const s = await finalState(browser);
      if (s.loggedin) return { browser, attempts: attempt };
      last = new Error(`login ended ${s.state}`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`login failed ${attempts} times: ${(last as Error).message}`);
}
