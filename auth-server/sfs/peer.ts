// The SFS as NS sees it (auth-server/common/peers.ts): issuer, attestation keys, and NS server registration.
import type { SfsPeer } from '../common/peers.js';
import { SfsError } from './errors.js';
import type { SfsPolicy } from './servers/model.js';
import type { SfsApi } from './service.js';

type PolicyPatch = NonNullable<Parameters<SfsPeer['registerServer']>[0]['policy']>;

const samePolicy = (a: SfsPolicy, b: SfsPolicy) =>
  a.maxAttempts === b.maxAttempts &&
  a.lockoutSeconds === b.lockoutSeconds &&
  a.maxLockoutSeconds === b.maxLockoutSeconds &&
  a.blockAfterLockouts === b.blockAfterLockouts &&
  a.bioAllowed === b.bioAllowed;

/** Only the members NS actually set: an explicit `undefined` must not erase a stored value. */
function definedMembers(patch: PolicyPatch): Partial<SfsPolicy> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
}

export function createSfsPeer(api: SfsApi): SfsPeer {
  return {
    issuer: api.issuer,
    publicKeys: () => api.publicKeys(),

    /**
     * Create-or-update, safe to call at every NS start and from many NS instances at once: the members NS
     * sends replace the stored ones, the others (e.g. set by an SFS administrator) stay; nothing is written
     * when nothing changes. Without a policy an existing server is left as it is.
     */
    async registerServer({ id, policy }) {
      const patch = policy === undefined ? {} : definedMembers(policy);
      let current = await api.servers.find(id);
      if (!current) {
        try {
          await api.servers.create({ id, policy: patch });
          return;
        } catch (err) {
          // Another NS instance registered it first; apply this call's policy over the winner's.
          if (!(err instanceof SfsError && err.code === 'conflict')) throw err;
        }
        current = await api.servers.get(id);
      }
      const merged = { ...current.policy, ...patch };
      if (samePolicy(current.policy, merged)) return;
      await api.servers.updatePolicy(id, merged);
    },
  };
}
