// `GET /ns/api/v2/audit` and `/audit/export` over a real listener: who may read what (401, 403, a server key
// confined to its server), every bad query parameter (400 problem JSON, nothing changed), keyset paging,
// the JSON-lines export, and the REST actions that record events (enrol links, logout).
import { expect } from 'chai';
import {
  auditExportLineSchema,
  auditPageResponseSchema,
} from '../../../../auth-server/ns/api/audit-routes.js';
import { createApiKeyRepository } from '../../../../auth-server/ns/apikeys/repository.js';
import type { NewAuditEvent } from '../../../../auth-server/ns/audit/model.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { startFailingAuditApi } from './audit-stub.js';
import { type Harness, rootKey, startHarness } from './harness.js';

const acmeKey = 'acme-audit-key-0123456789abcdef';
const otherKey = 'other-audit-key-0123456789abcdef';
const sessionsKey = 'acme-sessions-key-0123456789abcdef';

type Page = {
  events: { id: string; type: string; server: string | null; [k: string]: unknown }[];
  next_marker: string | null;
};

describe('ns REST v2 audit log', () => {
  let h: Harness;
  let acme: { id: string; name: string };
  let other: { id: string; name: string };

  beforeEach(async () => {
    h = await startHarness();
    const a = await h.servers.getByName('acme');
    const o = await h.servers.getByName('other');
    acme = { id: a.id, name: a.name };
    other = { id: o.id, name: o.name };
    const keys = createApiKeyRepository(h.knex);
    const save = (id: string, serverId: string, key: string, roles: ('audit' | 'sessions' | 'users')[]) =>
      keys.save({
        id,
        serverId,
        name: id,
        keyHash: sha256Hex(key),
        roles,
        createdAt: new Date(h.clock.now()),
      });
    await save('k-acme', acme.id, acmeKey, ['audit']);
    await save('k-other', other.id, otherKey, ['audit']);
    await save('k-sessions', acme.id, sessionsKey, ['sessions']);
    await save('k-users', acme.id, 'acme-users-key-0123456789abcdef', ['users']);
  });
  afterEach(() => h.close());

  const record = (overrides: Partial<NewAuditEvent> = {}) =>
    h.audit.record({
      type: 'session.login',
      server: acme,
      actor: { kind: 'account', id: 'acct-1' },
      subject: { kind: 'user', id: 'alice' },
      ip: '198.51.100.7',
      ...overrides,
    });

  const get = (path: string, key: string | null = rootKey) =>
    fetch(`${h.url}/ns/api/v2/${path}`, { headers: key === null ? {} : { 'x-apikey': key } });

  const page = async (query: string, key: string | null = rootKey): Promise<Page> => {
    const res = await get(`audit${query}`, key);
    expect(res.status, await res.clone().text()).to.equal(200);
    return auditPageResponseSchema.parse(await res.json()) as Page;
  };

  const exportLines = async (query: string, key: string | null = rootKey) => {
    const res = await get(`audit/export${query}`, key);
    expect(res.status, await res.clone().text()).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/x-ndjson/);
    expect(res.headers.get('cache-control')).to.contain('no-store');
    const text = await res.text();
    if (text === '') return [];
    expect(text.endsWith('\n')).to.equal(true);
    return text
      .slice(0, -1)
      .split('\n')
      .map((l) => auditExportLineSchema.parse(JSON.parse(l)));
  };

  const stored = () => h.knex('ns_audit_events').select('*').orderBy('id');

  describe('access', () => {
    it('refuses a missing or wrong X-apikey (401) on both endpoints', async () => {
      for (const path of ['audit', 'audit/export']) {
        for (const key of [null, 'wrong-key-0123456789abcdef']) {
          const res = await get(path, key);
          expect(res.status, `${path} ${key}`).to.equal(401);
          expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        }
      }
    });

    it('refuses a key without the audit role (403)', async () => {
      for (const path of ['audit', 'audit/export']) {
        const res = await get(path, sessionsKey);
        expect(res.status).to.equal(403);
        expect(await res.json()).to.deep.include({ code: 'forbidden', reason: 'missing_role' });
      }
    });

    it('confines a server key to its server: other servers are 403 whether they exist or not', async () => {
      await record();
      h.clock.advance(1);
      await record({ server: other });
      h.clock.advance(1);
      await record({ server: null, type: 'apikey.created', subject: { kind: 'apikey', id: 'k9' } });
      expect((await page('', acmeKey)).events.map((e) => e.server)).to.deep.equal(['acme']);
      expect((await page('?server=acme', acmeKey)).events).to.have.length(1);
      expect((await page('', otherKey)).events.map((e) => e.server)).to.deep.equal(['other']);
      for (const query of ['?server=other', '?server=nope']) {
        for (const path of ['audit', 'audit/export']) {
          const res = await get(`${path}${query}`, acmeKey);
          expect(res.status, `${path}${query}`).to.equal(403);
        }
      }
      expect((await exportLines('', acmeKey)).map((e) => e.server)).to.deep.equal(['acme']);
    });

    it('lets root read every server and NS-wide events, and filter by a server name that is gone', async () => {
      await record();
      h.clock.advance(1);
      await record({ server: other });
      h.clock.advance(1);
      await record({ server: null, type: 'apikey.created', subject: { kind: 'apikey', id: 'k9' } });
      h.clock.advance(1);
      await record({ server: { id: 'deleted-id', name: 'retired' } });
      expect((await page('')).events.map((e) => e.server)).to.deep.equal(['retired', null, 'other', 'acme']);
      expect((await page('?server=retired')).events).to.have.length(1);
      expect((await page('?server=never-existed')).events).to.deep.equal([]);
    });
  });

  describe('query parameters', () => {
    const bad: [string, string][] = [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=', 'limit'],
      ['type=session.hacked', 'type'],
      ['type=session.login,,', 'type'],
      ['type=nothing.*', 'type'],
      ['actor=robot:x', 'actor'],
      ['actor=user:', 'actor'],
      [`subject=user:${'x'.repeat(256)}`, 'subject'],
      ['subject=', 'subject'],
      ['since=yesterday', 'since'],
      ['until=2026-03-01', 'until'],
      ['since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z', 'since'],
      ['order=up', 'order'],
      ['server=ACME', 'server'],
      ['marker=not-a-marker', 'marker'],
      [`marker=${'a'.repeat(300)}`, 'marker'],
      ['severs=acme', ''],
      ['type=session.login&type=session.declined', 'type'],
    ];

    it('answers every bad parameter with a 400 problem naming it, changing nothing', async () => {
      await record();
      const before = await stored();
      for (const [query, path] of bad) {
        const res = await get(`audit?${query}`);
        expect(res.status, query).to.equal(400);
        expect(res.headers.get('content-type'), query).to.match(/^application\/problem\+json/);
        const problem = (await res.json()) as { code: string; errors?: { path: string }[] };
        expect(problem.code, query).to.equal('bad_request');
        if (path)
          expect(
            problem.errors?.map((e) => e.path),
            query,
          ).to.include(path);
      }
      // The export shares the filter checks; paging parameters are not its own.
      for (const query of ['type=bogus', 'since=soon', 'limit=10', 'marker=x', 'order=asc']) {
        const res = await get(`audit/export?${query}`);
        expect(res.status, query).to.equal(400);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      }
      expect(await stored()).to.deep.equal(before);
    });

    it('refuses a marker of the other order', async () => {
      for (let i = 0; i < 3; i++) {
        await record();
        h.clock.advance(1);
      }
      const { next_marker } = await page('?limit=1');
      const res = await get(`audit?order=asc&marker=${next_marker}`);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { detail: string }).detail).to.contain('order=desc');
    });

    it('filters by type (list and group), actor, subject, since and until', async () => {
      await record();
      h.clock.advance(1000);
      await record({ type: 'session.declined', subject: { kind: 'user', id: 'bob:smith' } });
      h.clock.advance(1000);
      await record({ type: 'enrol_link.created', actor: { kind: 'apikey', id: 'root' } });
      const types = async (q: string) => (await page(`?order=asc&${q}`)).events.map((e) => e.type);
      expect(await types('type=session.*')).to.deep.equal(['session.login', 'session.declined']);
      expect(await types('type=enrol_link.created,session.login')).to.deep.equal([
        'session.login',
        'enrol_link.created',
      ]);
      expect(await types('actor=apikey')).to.deep.equal(['enrol_link.created']);
      expect(await types('actor=apikey:root')).to.deep.equal(['enrol_link.created']);
      expect(await types(`subject=${encodeURIComponent('user:bob:smith')}`)).to.deep.equal([
        'session.declined',
      ]);
      const t = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
      const start = h.clock.now() - 2000;
      expect(await types(`since=${t(start + 1000)}`)).to.deep.equal([
        'session.declined',
        'enrol_link.created',
      ]);
      expect(await types(`until=${t(start + 1000)}`)).to.deep.equal(['session.login']);
      // Offsets are accepted.
      expect(await types('since=2026-03-01T13:00:00%2B01:00&until=2026-03-01T12:00:01.500Z')).to.deep.equal([
        'session.login',
        'session.declined',
      ]);
    });
  });

  describe('paging', () => {
    it('pages 250 events newest first (default 100 a page), stable while new events arrive', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 250; i++) {
        ids.push((await record({ details: { i } })).id);
        h.clock.advance(1);
      }
      const seen: string[] = [];
      let current = await page('');
      expect(current.events).to.have.length(100);
      seen.push(...current.events.map((e) => e.id));
      await record({ details: { late: true } });
      while (current.next_marker !== null) {
        current = await page(`?marker=${current.next_marker}`);
        seen.push(...current.events.map((e) => e.id));
      }
      expect(seen).to.deep.equal(ids.reverse());
      expect((await page('?limit=1000')).events).to.have.length(251);
    });

    it('order=asc returns a marker to poll on from, unchanged while nothing arrives', async () => {
      const first = await record();
      const p1 = await page('?order=asc');
      expect(p1.events.map((e) => e.id)).to.deep.equal([first.id]);
      expect(p1.next_marker).to.be.a('string');
      const p2 = await page(`?order=asc&marker=${p1.next_marker}`);
      expect(p2).to.deep.equal({ events: [], next_marker: p1.next_marker });
      h.clock.advance(1);
      const second = await record();
      const p3 = await page(`?order=asc&marker=${p2.next_marker}`);
      expect(p3.events.map((e) => e.id)).to.deep.equal([second.id]);
    });
  });

  describe('export', () => {
    it('streams every matching event as JSON lines, oldest first, with the same filters', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 450; i++) {
        ids.push(
          (await record({ type: i % 3 === 0 ? 'session.declined' : 'session.login', details: { i } })).id,
        );
        h.clock.advance(1);
      }
      const all = await exportLines('');
      expect(all.map((e) => e.id)).to.deep.equal(ids);
      expect(all[0]).to.deep.include({
        type: 'session.declined',
        server: 'acme',
        actor: { kind: 'account', id: 'acct-1' },
        subject: { kind: 'user', id: 'alice' },
        ip: '198.51.100.7',
        details: { i: 0 },
      });
      expect(await exportLines('?type=session.declined')).to.have.length(150);
      expect(await exportLines('?server=other')).to.deep.equal([]);
    });
  });

  describe('what the REST API records', () => {
    it('an enrol link: apikey root acts on the user, from the client address', async () => {
      const res = await fetch(`${h.url}/ns/api/v2/enrol-links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apikey': rootKey, 'user-agent': 'backend/2' },
        body: JSON.stringify({ server: 'acme', userid: 'alice', ttlSeconds: 120 }),
      });
      expect(res.status).to.equal(201);
      const [e] = (await page('?type=enrol_link.created')).events;
      expect(e).to.deep.include({
        server: 'acme',
        actor: { kind: 'apikey', id: 'root' },
        subject: { kind: 'user', id: 'alice' },
        userAgent: 'backend/2',
      });
      expect(e?.ip).to.match(/127\.0\.0\.1$/);
      // A refused request records nothing.
      await fetch(`${h.url}/ns/api/v2/enrol-links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
        body: JSON.stringify({ server: 'acme', userid: '' }),
      });
      expect((await page('')).events).to.have.length(1);
    });

    it('with X-su the root key stays the actor; the key it acted as is in details.actingAs', async () => {
      const res = await fetch(`${h.url}/ns/api/v2/enrol-links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apikey': rootKey, 'x-su': 'k-users' },
        body: JSON.stringify({ server: 'acme', userid: 'bob' }),
      });
      expect(res.status).to.equal(201);
      const [e] = (await page('')).events;
      expect(e).to.deep.include({
        actor: { kind: 'apikey', id: 'root' },
        subject: { kind: 'user', id: 'bob' },
      });
      expect(e?.details).to.deep.include({ actingAs: 'k-users' });
    });

    it('a logout that ends a session; a repeated logout records nothing', async () => {
      const created = await fetch(`${h.url}/ns/api/v2/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
        body: JSON.stringify({ server: 'acme' }),
      });
      const { nonce } = (await created.json()) as { nonce: string };
      const logout = () =>
        fetch(`${h.url}/ns/api/v2/logout`, {
          method: 'POST',
          headers: { 'x-apikey': rootKey, 'x-nonce': nonce },
        });
      expect((await logout()).status).to.equal(200);
      expect((await logout()).status).to.equal(200);
      const { events } = await page('');
      expect(events).to.have.length(1);
      const session = await h.sessions.findByNonce(nonce);
      expect(events[0]).to.deep.include({
        type: 'session.logout',
        server: 'acme',
        actor: { kind: 'apikey', id: 'root' },
        subject: { kind: 'session', id: session?.id },
        details: { session: session?.id, state: 'waiting' },
      });
      expect(JSON.stringify(events)).to.not.contain(nonce);
    });
  });
  describe('storage failures', () => {
    it('a failing query or export start is a 500 problem that says nothing about the cause', async () => {
      for (const failure of ['query', 'export-start'] as const) {
        const api = await startFailingAuditApi(failure);
        try {
          const path = failure === 'query' ? 'audit' : 'audit/export';
          const res = await fetch(`${api.url}/ns/api/v2/${path}`, { headers: { 'x-apikey': rootKey } });
          expect(res.status, failure).to.equal(500);
          expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
          expect(await res.text()).to.not.contain('storage down');
        } finally {
          await api.close(100);
        }
      }
    });

    it('an export failing midway cuts the response off: the client sees an error, not a short file', async () => {
      const api = await startFailingAuditApi('export-midway');
      try {
        const res = await fetch(`${api.url}/ns/api/v2/audit/export`, { headers: { 'x-apikey': rootKey } });
        expect(res.status).to.equal(200);
        let received = '';
        const err = await (async () => {
          try {
            for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
              received += Buffer.from(chunk).toString('utf8');
          } catch (e) {
            return e as Error;
          }
          return undefined;
        })();
        expect(err, 'the body must not end cleanly').to.be.instanceOf(Error);
        expect(received.split('\n').length).to.be.greaterThan(1);
      } finally {
        await api.close(100);
      }
    });
  });
});
