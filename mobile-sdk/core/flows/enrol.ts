// ENROL: scan the enrol URI, confirm, create the account key, PIN at the SFS, bind the key with an attestation.
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { thumbprint } from '../../../protocol/keys.js';
import { type EnrolUriData, nsMobileMessages, parseEnrolUri } from '../../../protocol/mobile/index.js';
import { mobileSocketUrl } from '../../../protocol/mobile/uris.js';
import { visualHash } from '../../../protocol/visual-hash.js';
import type { Account } from '../accounts/model.js';
import { openChannel } from '../channels.js';
import { SdkError } from '../errors.js';
import { keyStoreThumbprint, newAlias } from '../keys.js';
import { pushKeyFields } from '../mc/push-key.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';
import { attestWithPin } from './second-factor.js';
import type { ServerContext } from './types.js';

export type EnrolResult = { outcome: 'enrolled'; account: Account } | { outcome: 'declined' };

export function parseEnrol(uri: string): EnrolUriData {
  try {
    return parseEnrolUri(uri.trim());
  } catch (err) {
    throw new SdkError('invalid_uri', (err as Error).message);
  }
}

export class EnrolFlow extends Flow<EnrolResult> {
  constructor(
    private readonly deps: FlowDeps,
    private readonly uri: string,
  ) {
    super('enrol');
  }

  outcomeOf(result: EnrolResult): FlowOutcome {
    return result.outcome === 'enrolled'
      ? { outcome: 'ENROLLED' }
      : { outcome: 'ABORTED', reason: 'declined' };
  }

  protected async run(): Promise<EnrolResult> {
    const data = parseEnrol(this.uri);
    // Anonymous channel: the server must hold the key whose thumbprint the QR carries (DESIGN.md §4).
    const ns = await openChannel(this.deps.transports, {
      url: mobileSocketUrl(data.ns, '/ns/mobile'),
      target: { kind: 'ns', id: data.s },
      server: { fingerprints: [data.fp] },
      identity: null,
      registry: nsMobileMessages,
    });
    this.onCleanup(() => ns.close());
    const begin = await ns.request('enrol.begin', { token: data.t });
    if (begin.server.name !== data.s)
      throw new SdkError('rejected', `enrolment is for server ${begin.server.name}, the QR names ${data.s}`);
    const server: ServerContext = { ...begin.server, nsUrl: data.ns };
    this.subject.server = { id: server.id, name: server.name, nsUrl: server.nsUrl };
    this.subject.userid = begin.userid;

    const confirm = await this.ask({
      type: 'CONFIRM',
      context: {
        kind: 'enrol',
        server,
        userid: begin.userid,
        info: begin.info ?? null,
        serverKey: visualHash(data.fp),
        expiresAt: begin.expiresAt,
      },
    });
    if (confirm.decision !== 'approve') return { outcome: 'declined' };

    const sfs = await this.deps.openSfs();
    this.onCleanup(() => sfs.close());
    const { keyStore } = this.deps;
    const alias = newAlias('account');
    await keyStore.generate(alias, 'ecdsa-p256');
    try {
      let justSet: string | undefined;
      if (!sfs.pinSet) {
        justSet = (await this.ask({ type: 'SET_SECOND_FACTOR' })).pin;
        this.ensureActive();
        await sfs.setPin(justSet);
      }
      const accountKey = await keyStore.publicJwk(alias);
      const accountKeyThumbprint = await keyStoreThumbprint(keyStore, alias);
      const challenge = await attestationChallenge({
        serverId: server.id,
        accountKeyThumbprint,
        transcriptHash: ns.session.info.transcriptHash,
        purpose: 'enrol',
      });
      const attestation = await attestWithPin({
        ask: (interaction) => this.ask(interaction),
        sfs,
        server,
        challenge,
        ...(justSet !== undefined ? { pin: justSet } : {}),
      });
      this.ensureActive();
      const push = await pushKeyFields(this.deps.keyStore, ns.session.info.transcriptHash);
      const done = await ns.request('enrol.complete', {
        token: data.t,
        accountKey,
        attestation,
        ...(this.deps.deviceDescription ? { description: this.deps.deviceDescription } : {}),
        ...(this.deps.clientVersion ? { clientVersion: this.deps.clientVersion } : {}),
        ...(this.deps.sdkConfig ? { sdkConfig: this.deps.sdkConfig } : {}),
        ...push,
      });
      const account: Account = {
        id: alias.slice('account-'.length),
        nsAccountId: done.accountId,
        server: {
          id: done.server.id,
          name: done.server.name,
          displayName: done.server.displayName,
          nsUrl: data.ns,
          keyThumbprint: await thumbprint(ns.session.info.serverKey),
        },
        userid: done.userid,
        info: begin.info ?? null,
        accountKeyAlias: alias,
        accountKeyThumbprint,
        createdAt: this.deps.clock.now(),
        lastLoginAt: null,
      };
      await this.deps.accounts.save(account);
      this.subject.accountId = account.id;
      return { outcome: 'enrolled', account };
    } catch (err) {
      // No account refers to the key: it must not linger in the key store.
      await keyStore.delete(alias).catch(() => {});
      throw err;
    }
  }
}
