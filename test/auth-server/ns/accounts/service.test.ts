// Enrolment and server keys on every database: enrol links store only hashes, tokens are one-time and
// expire, attestations bind the new key to the channel, races create exactly one account, rejections
// change nothing.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ZodError } from 'zod';
import { openString, SecretBoxError } from '../../../../auth-server/common/crypto/secret-box.js';
import { NotFoundError } from '../../../../auth-server/common/db/errors.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { AccountError } from '../../../../auth-server/ns/accounts/errors.js';
import {
  createServerIdentityService,
  type ServerIdentity,
} from '../../../../auth-server/ns/servers/identity.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import {
  type MobileFixture,
  mobileFixture,
  newPhone,
  nsState,
  type Phone,
  publicUrl,
  rejection,
  secretKey,
} from '../mobile/fixtures.js';

function expectCode(err: unknown, code: string) {
  expect(err, String(err)).to.have.property('code', code);
}

describeEachDatabase('ns accounts and enrolment', (db) => {
  let f: MobileFixture;
  let knex: Knex;
  let acme: ServerIdentity;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
    const identity = await f.identities.serverIdentity('acme');
    if (!identity) throw new Error('no acme');
    acme = identity;
  });
  afterEach(() => f.close());

  /** completeEnrol as the endpoint calls it, for a channel with transcript hash `th`. */
  const complete = async (token: string, phone: Phone, th = randomBytes(32), attestationTh = th) => {
    const challenge = await attestationChallenge({
      serverId: acme.globalId,
      accountKeyThumbprint: phone.thumbprint,
      transcriptHash: attestationTh,
      purpose: 'enrol',
    });
    const attestation = await f.sfs.attest({ aud: acme.globalId, challenge, sub: phone.instanceId });
    return f.accounts.completeEnrol({
      server: acme,
      token,
      accountKey: phone.jwk,
      attestation,
      transcriptHash: th,
    });
  };

  const link = async (userid = 'alice', ttlSeconds?: number) => {
    const l = await f.accounts.createEnrolLink({
      server: 'acme',
      userid,
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    });
    return { ...l, data: parseEnrolUri(l.uri) };
  };

  describe('server identity', () => {
    it('creates one P-256 key per server, sealed under the secret key and bound to the server row', async () => {
      const row = await knex('ns_virtual_servers').where({ name: 'acme' }).first();
      expect(row.identity_thumbprint).to.equal(acme.thumbprint);
      expect(JSON.parse(row.identity_public_jwk)).to.deep.equal(acme.publicJwk);
      expect(row.identity_private_key).to.match(/^sb1\./);
      const privateJwk = JSON.parse(
        openString(secretKey, `ns-server-identity:${row.id}`, row.identity_private_key),
      );
      expect(privateJwk).to.include({ kty: 'EC', crv: 'P-256' }).and.to.have.property('d');
      // Opened under another server's context it fails: sealed keys cannot be swapped between rows.
      expect(() => openString(secretKey, 'ns-server-identity:other', row.identity_private_key)).to.throw(
        SecretBoxError,
      );
      expect(acme.globalId).to.equal(`${publicUrl}/ns/acme`);
      expect(acme.succession).to.deep.equal([]);
    });

    it('returns the same key afterwards and null for an unknown server', async () => {
      const again = await f.identities.serverIdentity('acme');
      expect(again?.thumbprint).to.equal(acme.thumbprint);
      expect(await f.identities.serverIdentity('nope')).to.equal(null);
    });

    it('keeps exactly one key when instances create it concurrently', async () => {
      const instances = Array.from({ length: 6 }, () =>
        createServerIdentityService({ db: knex, clock: f.clock, secretKey, publicUrl }),
      );
      const results = await Promise.all(instances.map((i) => i.serverIdentity('other')));
      const thumbprints = new Set(results.map((r) => r?.thumbprint));
      expect(thumbprints.size).to.equal(1);
      const row = await knex('ns_virtual_servers').where({ name: 'other' }).first();
      expect(thumbprints.has(row.identity_thumbprint)).to.equal(true);
    });

    it('refuses to open the key under another NEXTAUTH_SECRET_KEY', async () => {
      const wrong = createServerIdentityService({
        db: knex,
        clock: f.clock,
        secretKey: 'another-secret-key-0123456789',
        publicUrl,
      });
      expect(await rejection(wrong.serverIdentity('acme'))).to.be.instanceOf(SecretBoxError);
    });
  });

  describe('createEnrolLink', () => {
    it('returns a nextauth://enrol URI pinning the server key; stores only the token hash', async () => {
      const l = await link('alice');
      expect(l.data).to.deep.include({ v: 1, ns: publicUrl, s: 'acme', fp: acme.thumbprint });
      expect(l.data.t).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(l.expiresAt.getTime() - f.clock.now()).to.equal(600_000);
      const rows = await knex('ns_enrol_tokens').select('*');
      expect(rows).to.have.length(1);
      expect(rows[0].token_hash).to.equal(sha256Hex(l.data.t));
      expect(JSON.stringify(rows)).to.not.contain(l.data.t);
    });

    it('caps the lifetime at 15 minutes and refuses bad input without storing anything', async () => {
      expect((await link('bob', 900)).expiresAt.getTime() - f.clock.now()).to.equal(900_000);
      const before = await nsState(knex);
      expect(await rejection(link('bob', 901))).to.be.instanceOf(ZodError);
      expect(await rejection(link('', 60))).to.be.instanceOf(ZodError);
      expect(await rejection(f.accounts.createEnrolLink({ server: 'nope', userid: 'x' }))).to.be.instanceOf(
        NotFoundError,
      );
      expect(await nsState(knex)).to.deep.equal(before);
    });
  });

  describe('beginEnrol / completeEnrol', () => {
    it('previews without using the token, then creates the account from the attestation', async () => {
      const l = await link('alice');
      const preview = await f.accounts.beginEnrol(acme, l.data.t);
      expect(preview.userid).to.equal('alice');
      expect((await knex('ns_enrol_tokens').first()).used_at).to.equal(null);
      const phone = await newPhone();
      const account = await complete(l.data.t, phone);
      expect(account).to.deep.include({
        serverId: acme.serverId,
        userid: 'alice',
        keyThumbprint: phone.thumbprint,
        appInstanceId: phone.instanceId,
        blockedAt: null,
      });
      expect(account.sfsIssuer).to.equal(`${publicUrl}/sfs`);
      expect((await f.accounts.findAccountByThumbprint(acme.serverId, phone.thumbprint))?.id).to.equal(
        account.id,
      );
      expect(Number((await knex('ns_enrol_tokens').first()).used_at)).to.equal(f.clock.now());
    });

    it('refuses a used token with enrol_token_used', async () => {
      const l = await link();
      await complete(l.data.t, await newPhone());
      const before = await nsState(knex);
      expectCode(await rejection(f.accounts.beginEnrol(acme, l.data.t)), 'enrol_token_used');
      expectCode(await rejection(complete(l.data.t, await newPhone())), 'enrol_token_used');
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('refuses an expired token with enrol_token_expired', async () => {
      const l = await link('alice', 60);
      f.clock.advance(60_000);
      const before = await nsState(knex);
      expectCode(await rejection(f.accounts.beginEnrol(acme, l.data.t)), 'enrol_token_expired');
      expectCode(await rejection(complete(l.data.t, await newPhone())), 'enrol_token_expired');
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('refuses unknown tokens and tokens of another server with enrol_token_unknown', async () => {
      const other = await f.identities.serverIdentity('other');
      const l = await link();
      const before = await nsState(knex);
      expectCode(await rejection(f.accounts.beginEnrol(acme, 'A'.repeat(43))), 'enrol_token_unknown');
      expectCode(await rejection(f.accounts.beginEnrol(acme, 'short')), 'enrol_token_unknown');
      if (!other) throw new Error('no other');
      expectCode(await rejection(f.accounts.beginEnrol(other, l.data.t)), 'enrol_token_unknown');
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('leaves the token unused when the attestation is bound to another channel', async () => {
      const l = await link();
      const before = await nsState(knex);
      const err = await rejection(complete(l.data.t, await newPhone(), randomBytes(32), randomBytes(32)));
      expectCode(err, 'attestation_wrong_challenge');
      expect(await nsState(knex)).to.deep.equal(before);
      await complete(l.data.t, await newPhone());
    });

    it('refuses every attestation when no SFS is trusted, leaving the token unused', async () => {
      const g = await mobileFixture(knex, { withSfs: false });
      try {
        const server = await g.identities.serverIdentity('acme');
        const l = parseEnrolUri((await g.accounts.createEnrolLink({ server: 'acme', userid: 'x' })).uri);
        const phone = await newPhone();
        const before = await nsState(knex);
        const err = await rejection(
          g.accounts.completeEnrol({
            // biome-ignore lint/style/noNonNullAssertion: created by the fixture
            server: server!,
            token: l.t,
            accountKey: phone.jwk,
            attestation: 'a.b.c',
            transcriptHash: randomBytes(32),
          }),
        );
        expectCode(err, 'attestation_invalid');
        expect(await nsState(knex)).to.deep.equal(before);
      } finally {
        await g.close();
      }
    });

    it('rolls the token back when the key is already enrolled (account_key_exists)', async () => {
      const phone = await newPhone();
      await complete((await link('alice')).data.t, phone);
      const second = await link('alice');
      const before = await nsState(knex);
      expectCode(await rejection(complete(second.data.t, phone)), 'account_key_exists');
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('10 concurrent completions with one token create exactly one account', async () => {
      const l = await link('alice');
      const phones = await Promise.all(Array.from({ length: 10 }, () => newPhone()));
      const results = await Promise.allSettled(phones.map((p) => complete(l.data.t, p)));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expectCode(r.reason, 'enrol_token_used');
      expect(await knex('ns_accounts').select('*')).to.have.length(1);
    });
  });

  describe('blockAccount', () => {
    it('sets blocked_at once and refuses unknown accounts', async () => {
      const account = await complete((await link()).data.t, await newPhone());
      await f.accounts.blockAccount(account.id);
      const blockedAt = (await f.accounts.loadAccount(account.id)).blockedAt;
      expect(blockedAt?.getTime()).to.equal(f.clock.now());
      f.clock.advance(1000);
      await f.accounts.blockAccount(account.id);
      expect((await f.accounts.loadAccount(account.id)).blockedAt?.getTime()).to.equal(blockedAt?.getTime());
      const err = await rejection(f.accounts.blockAccount('nope'));
      expect(err).to.be.instanceOf(AccountError);
      expectCode(err, 'account_unknown');
    });
  });
});
