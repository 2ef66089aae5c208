// The SAML front door's storage on every database (keys: keys.test.ts): SPs, the
// atomic use of request IDs (N concurrent uses → exactly one wins, DESIGN.md §6), and waiting requests
// completed and collected once each, logout chains moved on by exactly one of concurrent steps.
import { expect } from 'chai';
import { FixedClock } from '../../../auth-server/common/clock.js';
import { ConflictError } from '../../../auth-server/common/db/errors.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import {
  createLogoutStore,
  type LogoutChain,
  logoutChainLifetimeMs,
} from '../../../idp/saml/logout-store.js';
import { createSpRepository } from '../../../idp/saml/sps.js';
import { createSamlStore, pendingLifetimeMs } from '../../../idp/saml/store.js';
import { describeEachDatabase } from '../../auth-server/common/db/databases.js';
import { testKey } from './harness.js';

const request = { acs: 'https://sp.example/acs', nameIdFormat: 'x', forceAuthn: false, isPassive: false };

describeEachDatabase('idp/saml storage', (db) => {
  let clock: FixedClock;
  before(async () => {
    await migrateLatest(db().knex, 'idp');
  });
  beforeEach(async () => {
    clock = new FixedClock(Date.UTC(2026, 0, 1));
    for (const table of ['idp_saml_sps', 'idp_saml_request_ids', 'idp_saml_pending', 'idp_saml_logouts'])
      await db().knex(table).delete();
  });

  it('stores SPs with their metadata (long text on every database); a second add is a conflict', async () => {
    const sps = createSpRepository({ knex: db().knex, clock });
    const cert = testKey().certificateBody;
    // Padding past 64 KiB: MySQL's TEXT would cut it (the column is MEDIUMTEXT there).
    const metadata =
      '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.example/saml">' +
      `<!-- ${'x'.repeat(70 * 1024)} -->` +
      '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true">' +
      `<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
      '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/>' +
      '</md:SPSSODescriptor></md:EntityDescriptor>';
    const settings = { sign: 'both' as const, encrypt: true, attributes: { mail: 'email' } };
    const added = await sps.add('default', metadata, settings);
    expect(added.metadata.authnRequestsSigned).to.equal(true);
    expect(added.metadata.encryptionCertificates).to.deep.equal([cert]);
    const got = await createSpRepository({ knex: db().open(), clock }).get(
      'default',
      'https://sp.example/saml',
    );
    expect(got?.metadataXml).to.equal(metadata);
    expect(got?.settings).to.deep.equal(settings);
    expect(await sps.get('acme', 'https://sp.example/saml')).to.equal(undefined);
    let error: unknown;
    await sps.add('default', metadata, settings).catch((err: unknown) => {
      error = err;
    });
    expect(error).to.be.instanceOf(ConflictError);
    expect(await sps.remove('default', 'https://sp.example/saml')).to.equal(true);
    expect(await sps.remove('default', 'https://sp.example/saml')).to.equal(false);
  });

  it('request IDs: N concurrent uses of one ID → exactly one wins; other SPs and servers are apart', async () => {
    const stores = [db().knex, db().open()].map((knex) => createSamlStore({ knex, clock }));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => stores[i % 2]?.useRequestId('default', 'https://sp', '_id1')),
    );
    expect(results.filter(Boolean)).to.have.length(1);
    const store = stores[0];
    if (!store) throw new Error('no store');
    expect(await store.useRequestId('default', 'https://other-sp', '_id1')).to.equal(true);
    expect(await store.useRequestId('acme', 'https://sp', '_id1')).to.equal(true);
    clock.advance(14 * 60_000);
    expect(await store.sweep()).to.equal(3);
  });

  it('a waiting request is completed once (raced) and collected once; it expires', async () => {
    const stores = [db().knex, db().open()].map((knex) => createSamlStore({ knex, clock }));
    const store = stores[0];
    if (!store) throw new Error('no store');
    await store.createPending({ id: 'p1', server: 'default', spEntityId: 'https://sp', request });
    const completed = await Promise.all(
      Array.from({ length: 8 }, (_, i) => stores[i % 2]?.complete('default', 'p1', `s${i}`, `response-${i}`)),
    );
    expect(completed.filter(Boolean)).to.have.length(1);
    const pending = await store.getPending('default', 'p1');
    expect(pending?.request).to.deep.equal(request);
    expect(pending?.response).to.match(/^response-\d$/);
    const delivered = await Promise.all(
      Array.from({ length: 6 }, (_, i) => stores[i % 2]?.deliver('default', 'p1')),
    );
    expect(delivered.filter(Boolean)).to.have.length(1);
    expect((await store.getPending('default', 'p1'))?.response).to.equal(null);

    await store.createPending({ id: 'p2', server: 'default', spEntityId: 'https://sp', request });
    expect(await store.getPending('acme', 'p2')).to.equal(undefined);
    clock.advance(pendingLifetimeMs);
    expect(await store.getPending('default', 'p2')).to.equal(undefined);
    expect(await store.complete('default', 'p2', null, 'late')).to.equal(false);
    expect(await store.sweep()).to.equal(2);
  });

  it('a logout chain: of concurrent steps exactly one wins; found by the request it awaits; it expires, unfinished ones heard', async () => {
    const stores = [db().knex, db().open()].map((knex) => createLogoutStore({ knex, clock }));
    const [store] = stores;
    if (!store) throw new Error('no store');
    const participant = {
      protocol: 'saml' as const,
      spEntityId: 'https://sp.example/saml',
      nameId: 'n',
      nameIdFormat: 'f',
      sessionIndex: '_s',
    };
    const chain: LogoutChain = {
      sessionId: 's1',
      userid: 'u',
      queue: [participant],
      outcomes: [],
      finish: { kind: 'url', url: '/logout' },
      done: false,
    };
    await store.create('c'.repeat(32), 'default', chain);
    const stored = await store.get('default', 'c'.repeat(32));
    if (!stored) throw new Error('no chain');
    expect(stored.chain).to.deep.equal(chain);
    const next = { ...chain, queue: [], awaiting: { participant, requestId: '_r1' } };
    const won = await Promise.all(Array.from({ length: 6 }, (_, i) => stores[i % 2]?.update(stored, next)));
    expect(won.filter(Boolean)).to.have.length(1);
    expect((await store.awaiting('default', '_r1'))?.chain).to.deep.equal(next);
    expect(await store.awaiting('acme', '_r1')).to.equal(undefined);
    expect(await store.get('acme', 'c'.repeat(32))).to.equal(undefined);
    // A chain walked to its end expires too, but nobody is left unreached there.
    await store.create('d'.repeat(32), 'default', { ...chain, queue: [], done: true });
    clock.advance(logoutChainLifetimeMs);
    expect(await store.get('default', 'c'.repeat(32))).to.equal(undefined);
    const heard: [string, LogoutChain][] = [];
    expect(await store.sweep((server, expired) => heard.push([server, expired]))).to.equal(2);
    expect(heard).to.deep.equal([['default', next]]);
    expect(await store.sweep()).to.equal(0);
  });
});
