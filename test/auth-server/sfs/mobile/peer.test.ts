// The SfsPeer that NS receives: issuer and keys of this SFS, and idempotent NS server registration.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import type { SfsPeer } from '../../../../auth-server/common/peers.js';
import { createSfsPeer } from '../../../../auth-server/sfs/peer.js';
import type { SfsApi } from '../../../../auth-server/sfs/service.js';
import { resetSfs, sfsApi, sfsRejection, snapshot } from '../fixtures.js';

const id = 'https://ns.example/ns/acme';

describe('sfs/peer: the SFS as NS sees it', () => {
  let dataDir: string;
  let knex: Knex;
  let clock: FixedClock;
  let api: SfsApi;
  let peer: SfsPeer;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-sfs-peer-'));
    knex = openDb({ dataDir, service: 'sfs' });
    await resetSfs(knex);
    clock = new FixedClock();
    api = sfsApi(knex, clock);
    peer = createSfsPeer(api);
  });
  afterEach(async () => {
    await knex.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('offers the issuer and the attestation keys', async () => {
    expect(peer.issuer).to.equal(api.issuer);
    expect(await peer.publicKeys()).to.deep.equal(await api.publicKeys());
  });

  it('creates a server with defaults, then applies the members NS sends and keeps the others', async () => {
    await peer.registerServer({ id });
    expect((await api.servers.get(id)).policy).to.deep.equal({
      maxAttempts: 5,
      lockoutSeconds: 300,
      maxLockoutSeconds: 86_400,
      blockAfterLockouts: 5,
    });
    await peer.registerServer({ id, policy: { maxAttempts: 3 } });
    await peer.registerServer({ id, policy: { lockoutSeconds: 60, maxAttempts: undefined } });
    expect((await api.servers.get(id)).policy).to.deep.equal({
      maxAttempts: 3,
      lockoutSeconds: 60,
      maxLockoutSeconds: 86_400,
      blockAfterLockouts: 5,
    });
  });

  it('writes nothing when nothing changes', async () => {
    await peer.registerServer({ id, policy: { maxAttempts: 3 } });
    clock.advance(1000);
    const before = await snapshot(knex);
    await peer.registerServer({ id, policy: { maxAttempts: 3 } });
    await peer.registerServer({ id });
    expect(await snapshot(knex)).to.deep.equal(before);
  });

  it('concurrent registrations of one server agree on one row with the policy asked for', async () => {
    await Promise.all(
      Array.from({ length: 8 }, () => peer.registerServer({ id, policy: { maxAttempts: 7 } })),
    );
    const servers = await api.servers.list();
    expect(servers.map((s) => s.id)).to.deep.equal([id]);
    expect(servers[0]?.policy.maxAttempts).to.equal(7);
  });

  it('refuses an invalid policy and changes nothing', async () => {
    await peer.registerServer({ id });
    const before = await snapshot(knex);
    await sfsRejection(
      peer.registerServer({ id, policy: { lockoutSeconds: 86_400 * 2 } }),
      'invalid_request',
    );
    await sfsRejection(peer.registerServer({ id, policy: { maxAttempts: 0 } }), 'invalid_request');
    expect(await snapshot(knex)).to.deep.equal(before);
  });

  it('updatePolicy of an unknown server is unknown_server', async () => {
    await sfsRejection(api.servers.updatePolicy(id, {}), 'unknown_server');
  });
});
