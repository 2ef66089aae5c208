// The MC as NS sees it (auth-server/common/peers.ts): find the recipient to seal for, post sealed messages.
import type { McPeer } from '../common/peers.js';
import type { McApi } from './service.js';

export function createMcPeer(api: McApi): McPeer {
  return {
    async recipient(ref) {
      const instance =
        'instanceId' in ref
          ? await api.instances.find(ref.instanceId)
          : await api.instances.findByThumbprint(ref.instanceKeyThumbprint);
      return instance ? { instanceId: instance.id, encryptionKey: instance.encryptionKey } : undefined;
    },
    async post(input) {
      const stored = await api.mailbox.post(input);
      return { id: stored.id, expiresAt: stored.expiresAt };
    },
  };
}
