// The NS channel of one account: authenticated with its key, pinned to the server key seen at enrolment.
import type { Channel, Signer } from '../../../protocol/index.js';
import { thumbprint } from '../../../protocol/keys.js';
import { type NsMobileMessages, nsMobileMessages } from '../../../protocol/mobile/index.js';
import { mobileSocketUrl } from '../../../protocol/mobile/uris.js';
import type { Account } from '../accounts/model.js';
import { openChannel } from '../channels.js';
import { keyStoreSigner } from '../keys.js';
import type { FlowDeps } from './deps.js';

export interface AccountChannel {
  channel: Channel<NsMobileMessages>;
  /** The account as it is now: a rotated server key (signed by the pinned one) is pinned from here on. */
  account: Account;
  signer: Signer;
}

/** Opens the channel; a look-alike NS cannot answer it (the pinned key or a successor it signed). */
export async function openAccountChannel(deps: FlowDeps, account: Account): Promise<AccountChannel> {
  const signer = await keyStoreSigner(deps.keyStore, account.accountKeyAlias);
  const channel = await openChannel(deps.transports, {
    url: mobileSocketUrl(account.server.nsUrl, '/ns/mobile'),
    target: { kind: 'ns', id: account.server.name },
    server: { fingerprints: [account.server.keyThumbprint] },
    identity: signer,
    registry: nsMobileMessages,
  });
  let current = account;
  if (channel.session.info.serverKeyRotated) {
    current = {
      ...account,
      server: { ...account.server, keyThumbprint: await thumbprint(channel.session.info.serverKey) },
    };
    await deps.accounts.save(current).catch(async (err: unknown) => {
      await channel.close().catch(() => {});
      throw err;
    });
  }
  return { channel, account: current, signer };
}
