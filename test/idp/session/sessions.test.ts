// The IdP session service on every database: cookie, timeouts (fake clock), participants, the atomic end
// (of concurrent ends exactly one runs the handlers) and replacement by a later login.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import type { IdpSessionEvent } from '../../../auth-server/common/peers.js';
import { participantsTable, sessionsTable } from '../../../idp/session/repository.js';
import {
  createIdpSessionService,
  type IdpSessionServiceDeps,
  touchIntervalMs,
} from '../../../idp/session/service.js';
import type { IdpEndCause, IdpLogin, IdpParticipant, IdpSession } from '../../../idp/session/types.js';
import { describeEachDatabase } from '../../auth-server/common/db/databases.js';
import { fakeBrowser } from './fake-context.js';

const logger = createLogger({ level: 'silent', format: 'json' });
const alice: IdpLogin = {
  userid: 'alice',
  accountId: 'acc-alice',
  authTime: Date.UTC(2026, 0, 1) / 1000,
  amr: ['swk', 'pin'],
  acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
};
const bob: IdpLogin = { ...alice, userid: 'bob', accountId: 'acc-bob' };
const oidcA: IdpParticipant = { protocol: 'oidc', sessionUid: 'uid-a' };
const samlB: IdpParticipant = {
  protocol: 'saml',
  spEntityId: 'https://sp.example/metadata',
  nameId: 'alice',
  nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  sessionIndex: '_s1',
};

describeEachDatabase('idp/session service', (db) => {
  let clock: FixedClock;
  const service = (overrides: Partial<IdpSessionServiceDeps> = {}, knex: Knex = db().knex) =>
    createIdpSessionService({
      knex,
      clock,
      random: systemRandom,
      logger,
      publicUrl: 'http://127.0.0.1:3000',
      idleSeconds: 3600,
      maxSeconds: 12 * 3600,
      ...overrides,
    });
  const row = async (id: string) => db().knex(sessionsTable).where({ id }).first();

  before(async () => {
    await migrateLatest(db().knex, 'idp');
  });
  beforeEach(async () => {
    clock = new FixedClock(Date.UTC(2026, 0, 1, 9));
    await db().knex(participantsTable).delete();
    await db().knex(sessionsTable).delete();
  });

  it('establishes a session behind a 256-bit cookie secret of which only the SHA-256 is stored', async () => {
    const sessions = service();
    const browser = fakeBrowser();
    const made = await sessions.establish(browser.ctx(), 'default', alice);
    expect(made).to.deep.include({ server: 'default', userid: 'alice', accountId: 'acc-alice' });
    expect(made.amr).to.deep.equal(['swk', 'pin']);
    expect(made.authTime).to.equal(alice.authTime);
    expect(made.expiresAt).to.equal(clock.now() / 1000 + 3600);
    const secret = browser.jar.get('nextauth_idp_default');
    expect(secret).to.match(/^[A-Za-z0-9_-]{43}$/);
    const stored = await row(made.id);
    expect(stored.secret_hash).to.equal(createHash('sha256').update(String(secret)).digest('hex'));
    expect(JSON.stringify(stored)).not.to.contain(String(secret));
    expect(made.id).not.to.equal(secret);
    const found = await sessions.current(browser.ctx(), 'default');
    expect(found).to.deep.equal(made);
  });

  it('finds nothing for no cookie, a malformed or unknown secret, or the cookie of another server', async () => {
    const sessions = service();
    const browser = fakeBrowser();
    expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    for (const bad of ['short', `${'a'.repeat(43)}`, `${'a'.repeat(42)}!`, 'x'.repeat(5000)]) {
      browser.jar.set('nextauth_idp_default', bad);
      expect(await sessions.current(browser.ctx(), 'default'), bad.slice(0, 10)).to.equal(undefined);
    }
    browser.jar.clear();
    await sessions.establish(browser.ctx(), 'acme', alice);
    expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    // The secret of server acme presented under the cookie name of server default.
    browser.jar.set('nextauth_idp_default', String(browser.jar.get('nextauth_idp_acme')));
    expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    expect(await sessions.current(browser.ctx(), 'acme')).to.deep.include({ userid: 'alice' });
  });

  describe('cookie', () => {
    it('is HttpOnly, SameSite=Lax, Path=/, host-only and not Secure on an http public URL', async () => {
      const browser = fakeBrowser();
      await service().establish(browser.ctx(), 'default', alice);
      const [header] = browser.setCookies;
      const attributes = String(header).split('; ').slice(1);
      expect(attributes).to.have.members(['Path=/', `Max-Age=${12 * 3600}`, 'HttpOnly', 'SameSite=Lax']);
    });

    it('is Secure on an https public URL and carries Domain only when configured', async () => {
      const browser = fakeBrowser();
      await service({ publicUrl: 'https://idp.example.com' }).establish(browser.ctx(), 'default', alice);
      expect(String(browser.setCookies[0]).split('; '))
        .to.include('Secure')
        .and.not.include.members(['Domain=example.com']);
      const wide = fakeBrowser();
      await service({ publicUrl: 'https://idp.example.com', cookieDomain: 'example.com' }).establish(
        wide.ctx(),
        'default',
        alice,
      );
      expect(String(wide.setCookies[0]).split('; ')).to.include.members(['Domain=example.com', 'Secure']);
    });

    it('is cleared by end with the same Domain and Path', async () => {
      const sessions = service({ publicUrl: 'https://idp.example.com', cookieDomain: 'example.com' });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      await sessions.end(made, 'logout', { ctx: browser.ctx() });
      const cleared = String(browser.setCookies[1]).split('; ');
      expect(cleared[0]).to.equal('nextauth_idp_default=');
      expect(cleared).to.include.members(['Path=/', 'Max-Age=0', 'Domain=example.com', 'Secure']);
      expect(browser.jar.has('nextauth_idp_default')).to.equal(false);
    });
  });

  it('end with the request of a browser whose cookie names another session leaves that cookie alone', async () => {
    const sessions = service();
    const old = await sessions.establish(fakeBrowser().ctx(), 'default', alice);
    const browser = fakeBrowser();
    await sessions.establish(browser.ctx(), 'default', bob);
    await sessions.end(old, 'saml_logout', { ctx: browser.ctx() });
    expect(browser.setCookies).to.have.length(1);
    expect(await sessions.current(browser.ctx(), 'default')).to.deep.include({ userid: 'bob' });
  });

  describe('timeouts (fake clock)', () => {
    it('ends an unused session after the idle timeout; use within it moves the expiry', async () => {
      const sessions = service();
      const browser = fakeBrowser();
      await sessions.establish(browser.ctx(), 'default', alice);
      clock.advance(3599_000);
      const touched = await sessions.current(browser.ctx(), 'default');
      expect(touched?.expiresAt).to.equal(clock.now() / 1000 + 3600);
      clock.advance(3599_000);
      expect(await sessions.current(browser.ctx(), 'default')).to.deep.include({ userid: 'alice' });
      clock.advance(3600_000);
      expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    });

    it('writes last-seen at most once a minute', async () => {
      const sessions = service();
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      const created = Number((await row(made.id)).last_seen_at);
      clock.advance(touchIntervalMs - 1);
      await sessions.current(browser.ctx(), 'default');
      expect(Number((await row(made.id)).last_seen_at)).to.equal(created);
      clock.advance(1);
      await sessions.current(browser.ctx(), 'default');
      expect(Number((await row(made.id)).last_seen_at)).to.equal(created + touchIntervalMs);
    });

    it('ends a busy session at the absolute timeout', async () => {
      const sessions = service({ idleSeconds: 3600, maxSeconds: 2 * 3600 });
      const browser = fakeBrowser();
      await sessions.establish(browser.ctx(), 'default', alice);
      for (let i = 0; i < 3; i++) {
        clock.advance(30 * 60_000);
        expect(await sessions.current(browser.ctx(), 'default'), `step ${i}`).to.not.equal(undefined);
      }
      clock.advance(30 * 60_000 - 1000);
      // The idle expiry never goes past the absolute one.
      expect((await sessions.current(browser.ctx(), 'default'))?.expiresAt).to.equal(
        Date.UTC(2026, 0, 1, 11) / 1000,
      );
      clock.advance(1000);
      expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    });
  });

  describe('participants and end', () => {
    it('join is idempotent and participants come back as joined', async () => {
      const sessions = service();
      const made = await sessions.establish(fakeBrowser().ctx(), 'default', alice);
      await sessions.join(made, oidcA);
      await sessions.join(made, oidcA);
      await sessions.join(made, samlB);
      await sessions.join(made, { ...samlB, nameId: 'changed' });
      expect(await sessions.participants(made)).to.have.deep.members([oidcA, samlB]);
    });

    it('refuses a malformed participant and stores nothing', async () => {
      const sessions = service();
      const made = await sessions.establish(fakeBrowser().ctx(), 'default', alice);
      let failed: unknown;
      await sessions.join(made, { protocol: 'oidc' } as unknown as IdpParticipant).catch((err) => {
        failed = err;
      });
      expect(failed).to.be.instanceOf(Error);
      expect(await sessions.participants(made)).to.deep.equal([]);
    });

    it('end runs the handler of each participant except the one that started it; a replayed cookie finds nothing', async () => {
      const sessions = service();
      const calls: string[] = [];
      sessions.onEnd('oidc', async (s, p, cause) => {
        calls.push(`oidc:${p.protocol === 'oidc' ? p.sessionUid : ''}:${cause}:${s.userid}`);
      });
      sessions.onEnd('saml', async (_s, p, cause) => {
        calls.push(`saml:${p.protocol === 'saml' ? p.sessionIndex : ''}:${cause}`);
      });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      const secret = String(browser.jar.get('nextauth_idp_default'));
      await sessions.join(made, oidcA);
      await sessions.join(made, samlB);
      const returned = await sessions.end(made, 'saml_logout', { ctx: browser.ctx(), except: samlB });
      expect(returned).to.have.deep.members([oidcA, samlB]);
      expect(calls).to.deep.equal(['oidc:uid-a:saml_logout:alice']);
      expect(await row(made.id)).to.deep.include({ end_cause: 'saml_logout' });
      browser.jar.set('nextauth_idp_default', secret);
      expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
      // Ending it again does nothing.
      expect(await sessions.end(made, 'logout')).to.deep.equal([]);
      expect(calls).to.have.length(1);
    });

    it('handlers hear whether the browser is there; frontChannel asks the protocol of those participants', async () => {
      const sessions = service();
      const heard: boolean[] = [];
      sessions.onEnd('saml', async (_s, _p, _cause, how) => {
        heard.push(how?.browser ?? false);
      });
      const asked: string[][] = [];
      sessions.onFrontChannel('saml', async (_s, participants, returnTo) => {
        asked.push([...participants.map((p) => p.protocol), returnTo]);
        return `/saml/default/slo/next?then=${returnTo}`;
      });
      const browser = fakeBrowser();
      const withBrowser = await sessions.establish(browser.ctx(), 'default', alice);
      await sessions.join(withBrowser, oidcA);
      await sessions.join(withBrowser, samlB);
      const ended = await sessions.end(withBrowser, 'logout', { ctx: browser.ctx() });
      expect(await sessions.frontChannel(withBrowser, ended, '/logout')).to.equal(
        '/saml/default/slo/next?then=/logout',
      );
      expect(asked).to.deep.equal([['saml', '/logout']]);
      // Only OIDC participants: nothing to walk the browser through.
      expect(await sessions.frontChannel(withBrowser, [oidcA], '/logout')).to.equal(undefined);
      const without = await sessions.establish(fakeBrowser().ctx(), 'default', alice);
      await sessions.join(without, samlB);
      await sessions.end(without, 'ns_logout');
      expect(heard).to.deep.equal([true, false]);
    });

    it('a throwing handler does not stop the others, and after-end still runs', async () => {
      const after: IdpEndCause[] = [];
      const sessions = service({
        afterEnd: async (_s, cause) => {
          after.push(cause);
        },
      });
      const told: string[] = [];
      sessions.onEnd('oidc', async (_s, p) => {
        if (p.protocol === 'oidc' && p.sessionUid === 'uid-a') throw new Error('RP unreachable');
        told.push(p.protocol === 'oidc' ? p.sessionUid : '');
      });
      sessions.onEnd('saml', async () => {
        told.push('saml');
      });
      const made = await sessions.establish(fakeBrowser().ctx(), 'default', alice);
      await sessions.join(made, oidcA);
      await sessions.join(made, { protocol: 'oidc', sessionUid: 'uid-b' });
      await sessions.join(made, samlB);
      await sessions.end(made, 'logout');
      expect(told).to.have.members(['uid-b', 'saml']);
      expect(after).to.deep.equal(['logout']);
    });

    it('of 20 concurrent ends exactly one runs the handlers (handles with their own pools on servers)', async () => {
      const { knex, dialect } = db();
      const handles =
        dialect === 'sqlite' ? [knex] : Array.from({ length: 4 }, () => db().open({ min: 5, max: 5 }));
      let handled = 0;
      let afterEnds = 0;
      const instances = handles.map((h) => {
        const s = service({ afterEnd: async () => void afterEnds++ }, h);
        s.onEnd('oidc', async () => void handled++);
        return s;
      });
      const nth = (i: number) => {
        const instance = instances[i % instances.length];
        if (!instance) throw new Error('no instance');
        return instance;
      };
      const made = await nth(0).establish(fakeBrowser().ctx(), 'default', alice);
      await nth(0).join(made, oidcA);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => nth(i).end(made, 'logout')));
      expect(results.filter((r) => r.length > 0)).to.have.length(1);
      expect(handled).to.equal(1);
      expect(afterEnds).to.equal(1);
    });
  });

  describe('a later login on the same browser', () => {
    it('of the same user replaces the session and keeps its participants; the old cookie is dead', async () => {
      const sessions = service();
      const ended: string[] = [];
      sessions.onEnd('oidc', async (s) => void ended.push(s.id));
      const browser = fakeBrowser();
      const first = await sessions.establish(browser.ctx(), 'default', alice);
      const oldSecret = String(browser.jar.get('nextauth_idp_default'));
      await sessions.join(first, oidcA);
      clock.advance(600_000);
      const second = await sessions.establish(browser.ctx(), 'default', {
        ...alice,
        authTime: alice.authTime + 600,
      });
      expect(second.id).not.to.equal(first.id);
      expect(second.authTime).to.equal(alice.authTime + 600);
      expect(await sessions.participants(second)).to.deep.equal([oidcA]);
      expect(ended).to.deep.equal([]);
      expect(await row(first.id)).to.deep.include({ end_cause: 'replaced' });
      const other = fakeBrowser();
      other.jar.set('nextauth_idp_default', oldSecret);
      expect(await sessions.current(other.ctx(), 'default')).to.equal(undefined);
      expect(await sessions.current(browser.ctx(), 'default')).to.deep.include({ id: second.id });
    });

    it('of another user ends the previous session (its handlers hear `replaced`) and starts afresh', async () => {
      const sessions = service();
      const ended: Array<[IdpSession, IdpEndCause]> = [];
      sessions.onEnd('oidc', async (s, _p, cause) => void ended.push([s, cause]));
      const browser = fakeBrowser();
      const first = await sessions.establish(browser.ctx(), 'default', alice);
      await sessions.join(first, oidcA);
      const second = await sessions.establish(browser.ctx(), 'default', bob);
      expect(ended.map(([s, cause]) => [s.userid, cause])).to.deep.equal([['alice', 'replaced']]);
      expect(await sessions.participants(second)).to.deep.equal([]);
      expect(await sessions.current(browser.ctx(), 'default')).to.deep.include({ userid: 'bob' });
    });
  });

  describe('live cache (forward-auth reads the session for every request)', () => {
    /** Two instances on one database whose announcements reach each other, as the KV bus does. */
    const pair = (ttlMs = 60_000) => {
      const instances: ReturnType<typeof service>[] = [];
      const announce = async (id: string) => {
        for (const i of instances) i.forget(id);
      };
      instances.push(service({ liveCache: { ttlMs, announceEnd: announce } }));
      instances.push(service({ liveCache: { ttlMs, announceEnd: announce } }));
      return instances as [ReturnType<typeof service>, ReturnType<typeof service>];
    };

    it('an end on one instance ends the session on the other at once, though it had it cached', async () => {
      const [a, b] = pair();
      const browser = fakeBrowser();
      const made = await a.establish(browser.ctx(), 'default', alice);
      expect(await b.current(browser.ctx(), 'default')).to.deep.include({ id: made.id });
      await a.end(made, 'logout');
      expect(await b.current(browser.ctx(), 'default')).to.equal(undefined);
      expect(await a.current(browser.ctx(), 'default')).to.equal(undefined);
    });

    it('an end that was never announced (a lost bus message) counts after the entry lived ttlMs', async () => {
      const sessions = service({ liveCache: { ttlMs: 5000, announceEnd: async () => {} } });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      expect(await sessions.current(browser.ctx(), 'default')).to.deep.include({ id: made.id });
      await db()
        .knex(sessionsTable)
        .where({ id: made.id })
        .update({ ended_at: clock.now(), end_cause: 'logout' });
      clock.advance(5001);
      expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    });

    it('an ended id is not cached again by a read that began before the end', async () => {
      const sessions = service({ liveCache: { ttlMs: 60_000, announceEnd: async () => {} } });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      // As a late read would: the row was live when read, the end's forget came first.
      sessions.forget(made.id);
      await db()
        .knex(sessionsTable)
        .where({ id: made.id })
        .update({ ended_at: clock.now(), end_cause: 'logout' });
      expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    });

    /** Statements on the sessions table while `run` runs, by kind. */
    const statements = async (run: () => Promise<unknown>) => {
      const seen = { select: 0, update: 0 };
      const listener = (q: { sql: string }) => {
        const sql = q.sql.toLowerCase();
        if (!sql.includes(sessionsTable)) return;
        if (sql.startsWith('select')) seen.select++;
        if (sql.startsWith('update')) seen.update++;
      };
      db().knex.on('query', listener);
      try {
        await run();
      } finally {
        db().knex.off('query', listener);
      }
      return seen;
    };

    it('concurrent requests of a browser on a cold cache share one read', async () => {
      const sessions = service({ liveCache: { ttlMs: 5000, announceEnd: async () => {} } });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      let found: (IdpSession | undefined)[] = [];
      const seen = await statements(async () => {
        found = await Promise.all(
          Array.from({ length: 20 }, () => sessions.current(browser.ctx(), 'default')),
        );
      });
      expect(found.map((f) => f?.id)).to.deep.equal(Array(20).fill(made.id));
      expect(seen.select).to.equal(1);
    });

    it('a request after an end does not join a read that began before it', async () => {
      const sessions = service({ liveCache: { ttlMs: 60_000, announceEnd: async () => {} } });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      const seen = await statements(async () => {
        const early = sessions.current(browser.ctx(), 'default');
        // The end's forget comes while the early read is in flight (here: before its query even ran).
        sessions.forget(made.id);
        const late = sessions.current(browser.ctx(), 'default');
        await Promise.all([early, late]);
      });
      expect(seen.select).to.equal(2);
    });

    it('concurrent requests past the touch interval write the idle expiry once', async () => {
      const sessions = service({ liveCache: { ttlMs: 600_000, announceEnd: async () => {} } });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      await sessions.current(browser.ctx(), 'default');
      clock.advance(touchIntervalMs);
      let found: (IdpSession | undefined)[] = [];
      const seen = await statements(async () => {
        found = await Promise.all(
          Array.from({ length: 20 }, () => sessions.current(browser.ctx(), 'default')),
        );
      });
      expect(found.map((f) => f?.id)).to.deep.equal(Array(20).fill(made.id));
      expect(seen.update).to.equal(1);
      expect(Number((await row(made.id)).last_seen_at)).to.equal(clock.now());
    });

    it('a touch that finds the session ended ends it for every request that waited on it', async () => {
      const sessions = service({ liveCache: { ttlMs: 600_000, announceEnd: async () => {} } });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      await sessions.current(browser.ctx(), 'default');
      // Ended elsewhere, the announcement lost: only the touch's conditional write notices.
      await db()
        .knex(sessionsTable)
        .where({ id: made.id })
        .update({ ended_at: clock.now(), end_cause: 'logout' });
      clock.advance(touchIntervalMs);
      const found = await Promise.all(
        Array.from({ length: 5 }, () => sessions.current(browser.ctx(), 'default')),
      );
      expect(found).to.deep.equal(Array(5).fill(undefined));
      expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    });

    it('still moves the idle expiry once a minute, and ends at the idle timeout', async () => {
      const sessions = service({ liveCache: { ttlMs: 600_000, announceEnd: async () => {} } });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      clock.advance(touchIntervalMs);
      await sessions.current(browser.ctx(), 'default');
      expect(Number((await row(made.id)).last_seen_at)).to.equal(clock.now());
      clock.advance(3600_000 + 1);
      expect(await sessions.current(browser.ctx(), 'default')).to.equal(undefined);
    });
  });

  describe('ends from NS (endFromNs)', () => {
    it('ns_logout ends the session made from that NS login; account_removed every one of the account', async () => {
      const sessions = service();
      const causes: string[] = [];
      sessions.onEnd('oidc', async (s, _p, cause) => void causes.push(`${s.userid}:${cause}`));
      const a1 = await sessions.establish(fakeBrowser().ctx(), 'default', { ...alice, nsSession: 'ns-1' });
      const a2 = await sessions.establish(fakeBrowser().ctx(), 'default', { ...alice, nsSession: 'ns-2' });
      const b1 = await sessions.establish(fakeBrowser().ctx(), 'default', { ...bob, nsSession: 'ns-3' });
      const elsewhere = await sessions.establish(fakeBrowser().ctx(), 'acme', {
        ...alice,
        nsSession: 'ns-1',
      });
      for (const s of [a1, a2, b1, elsewhere]) await sessions.join(s, { protocol: 'oidc', sessionUid: s.id });
      expect(a1.nsSession).to.equal('ns-1');

      expect(await sessions.endFromNs({ cause: 'ns_logout', server: 'default', nsSession: 'ns-1' })).to.equal(
        1,
      );
      expect(await row(a1.id)).to.deep.include({ end_cause: 'ns_logout' });
      expect(await row(a2.id)).to.deep.include({ end_cause: null });
      expect(
        await sessions.endFromNs({ cause: 'account_removed', server: 'default', account: 'acc-alice' }),
      ).to.equal(1);
      expect(await row(a2.id)).to.deep.include({ end_cause: 'account_removed' });
      // Heard again (another instance, a repeated message): nothing left to end, no handler runs twice.
      expect(
        await sessions.endFromNs({ cause: 'account_removed', server: 'default', account: 'acc-alice' }),
      ).to.equal(0);
      expect(causes).to.deep.equal(['alice:ns_logout', 'alice:account_removed']);
      expect(await row(b1.id)).to.deep.include({ end_cause: null });
      expect(await row(elsewhere.id)).to.deep.include({ end_cause: null });
    });
  });

  describe("NS's audit log (recordEvent)", () => {
    it('records each start and each end once, with its cause, ids only', async () => {
      const events: IdpSessionEvent[] = [];
      const sessions = service({ recordEvent: async (e) => void events.push(e) });
      const browser = fakeBrowser();
      const first = await sessions.establish(browser.ctx(), 'default', alice);
      // The same user again (step-up): the first ends as replaced.
      const second = await sessions.establish(browser.ctx(), 'default', alice);
      // Another user on the same browser: replaced too.
      const third = await sessions.establish(browser.ctx(), 'default', bob);
      await sessions.end(third, 'logout', { ctx: browser.ctx() });
      // Lost races record nothing.
      await sessions.end(third, 'logout');
      const brief = events.map((e) => [e.type, e.session, e.userid, e.account, e.cause ?? '']);
      expect(brief).to.deep.equal([
        ['idp_session.started', first.id, 'alice', 'acc-alice', ''],
        ['idp_session.ended', first.id, 'alice', 'acc-alice', 'replaced'],
        ['idp_session.started', second.id, 'alice', 'acc-alice', ''],
        ['idp_session.ended', second.id, 'alice', 'acc-alice', 'replaced'],
        ['idp_session.started', third.id, 'bob', 'acc-bob', ''],
        ['idp_session.ended', third.id, 'bob', 'acc-bob', 'logout'],
      ]);
      expect(events[0]).to.deep.include({ server: 'default', amr: ['swk', 'pin'] });
      expect(JSON.stringify(events)).not.to.contain(String(browser.jar.get('nextauth_idp_default')));
    });

    it('an audit log that cannot be reached neither fails the login nor keeps the session alive', async () => {
      const sessions = service({
        recordEvent: async () => {
          throw new Error('NS unreachable');
        },
      });
      const browser = fakeBrowser();
      const made = await sessions.establish(browser.ctx(), 'default', alice);
      expect(await sessions.current(browser.ctx(), 'default')).to.deep.include({ id: made.id });
      await sessions.end(made, 'logout', { ctx: browser.ctx() });
      expect(await row(made.id)).to.deep.include({ end_cause: 'logout' });
    });
  });

  it('sweep deletes sessions a day after they ended or expired, with their participants', async () => {
    const sessions = service();
    const ended = await sessions.establish(fakeBrowser().ctx(), 'default', alice);
    await sessions.join(ended, oidcA);
    await sessions.end(ended, 'logout');
    const kept = await sessions.establish(fakeBrowser().ctx(), 'default', bob);
    clock.advance(86_400_000 - 1000);
    expect(await sessions.sweep()).to.equal(0);
    clock.advance(2000);
    expect(await sessions.sweep()).to.equal(1);
    expect(await row(ended.id)).to.equal(undefined);
    expect(await row(kept.id)).to.not.equal(undefined);
    // The other one a day after its idle timeout.
    clock.advance(3600_000);
    expect(await sessions.sweep()).to.equal(1);
    expect(await row(kept.id)).to.equal(undefined);
    expect(await db().knex(participantsTable).count({ n: '*' }).first()).to.satisfy(
      (r: { n: unknown }) => Number(r.n) === 0,
    );
  });
});
