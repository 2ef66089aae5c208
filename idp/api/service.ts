// The IdP's administrative changes (OIDC clients, signing-key rotation, SAML SPs), each recorded in NS's audit log
// inside the change's own transaction: an event that cannot be recorded rolls the change back (DESIGN.md §6).
import type { IdpAdminEvent, NsPeer } from '../../auth-server/common/peers.js';
import type { ClientPatch, ClientRepository, NewClient, OidcClient } from '../oidc/clients.js';
import type { SigningKeyInfo, SigningKeyStore } from '../oidc/signing-keys.js';
import { SamlError } from '../saml/errors.js';
import type { KeyUse, SamlKeyInfo, SamlKeyStore } from '../saml/keys.js';
import type { SamlSp, SpRepository, SpSettings } from '../saml/sps.js';

/** Who acts, from where: the API key and the request's origin. */
export interface AdminActor {
  keyId: string;
  ip: string | null;
  userAgent: string | null;
}

export interface IdpAdminService {
  createClient(
    server: string,
    input: Omit<NewClient, 'server'>,
    actor: AdminActor,
  ): Promise<{ client: OidcClient; secret?: string }>;
  /** Undefined when the server has no such client. */
  updateClient(
    server: string,
    clientId: string,
    patch: ClientPatch,
    actor: AdminActor,
  ): Promise<OidcClient | undefined>;
  /** False when the server has no such client. */
  deleteClient(server: string, clientId: string, actor: AdminActor): Promise<boolean>;
  rotateKeys(server: string, actor: AdminActor): Promise<SigningKeyInfo[]>;
  rotateSamlKeys(server: string, uses: readonly KeyUse[], actor: AdminActor): Promise<SamlKeyInfo[]>;
  createSp(server: string, metadataXml: string, settings: SpSettings, actor: AdminActor): Promise<SamlSp>;
  /** Undefined when the server has no such SP. */
  updateSp(
    server: string,
    entityId: string,
    change: { metadataXml?: string; settings: SpSettingsChange },
    actor: AdminActor,
  ): Promise<SamlSp | undefined>;
  /** False when the server has no such SP. */
  deleteSp(server: string, entityId: string, actor: AdminActor): Promise<boolean>;
}

/** Settings an update gives; `nameIdFormat: null` removes the SP's format. */
export type SpSettingsChange = Partial<Omit<SpSettings, 'nameIdFormat'>> & {
  nameIdFormat?: SpSettings['nameIdFormat'] | null;
};

/** What a client's audit event says about it: its shape, never its secret. */
const clientDetails = (c: OidcClient) => ({
  public: c.public,
  grantTypes: c.grantTypes,
  thirdParty: c.thirdParty,
  subjectType: c.subjectType,
  requirePar: c.requirePar,
  ciba: c.ciba,
});

export function createIdpAdminService(deps: {
  clients: ClientRepository;
  keys: SigningKeyStore;
  sps?: SpRepository | undefined;
  samlKeys?: SamlKeyStore | undefined;
  ns: NsPeer;
}): IdpAdminService {
  const { clients, keys, ns } = deps;
  const spRepository = () => {
    if (!deps.sps) throw new Error('SAML front door off');
    return deps.sps;
  };
  const record = (
    type: IdpAdminEvent['type'],
    server: string,
    actor: AdminActor,
    subject: IdpAdminEvent['subject'],
    details: IdpAdminEvent['details'] = {},
  ) =>
    ns.recordAdminEvent({
      type,
      server,
      actor: actor.keyId,
      subject,
      ip: actor.ip,
      userAgent: actor.userAgent,
      details,
    });

  return {
    createClient(server, input, actor) {
      return clients.add({ ...input, server }, (client) =>
        record(
          'oidc_client.created',
          server,
          actor,
          { kind: 'oidc_client', id: client.clientId },
          {
            ...clientDetails(client),
            // Whether the caller chose the secret or it was generated; the secret itself never.
            secretGenerated: !client.public && input.secret === undefined,
          },
        ),
      );
    },

    updateClient(server, clientId, patch, actor) {
      return clients.update(server, clientId, patch, (client) =>
        record(
          'oidc_client.updated',
          server,
          actor,
          { kind: 'oidc_client', id: clientId },
          { changed: Object.keys(patch).sort(), ...clientDetails(client) },
        ),
      );
    },

    deleteClient(server, clientId, actor) {
      return clients.remove(server, clientId, () =>
        record('oidc_client.deleted', server, actor, { kind: 'oidc_client', id: clientId }),
      );
    },

    async rotateKeys(server, actor) {
      return keys.rotate(server, () =>
        record('oidc_keys.rotated', server, actor, { kind: 'server', id: server }),
      );
    },

    rotateSamlKeys(server, uses, actor) {
      if (!deps.samlKeys) throw new Error('SAML front door off');
      return deps.samlKeys.rotate(server, uses, () =>
        record('saml_keys.rotated', server, actor, { kind: 'server', id: server }, { uses: [...uses] }),
      );
    },

    createSp(server, metadataXml, settings, actor) {
      return spRepository().add(server, metadataXml, settings, (sp) =>
        record(
          'saml_sp.created',
          server,
          actor,
          { kind: 'saml_sp', id: sp.entityId },
          {
            sign: sp.settings.sign,
            encrypt: sp.settings.encrypt,
            authnRequestsSigned: sp.metadata.authnRequestsSigned,
            attributes: Object.keys(sp.settings.attributes).sort(),
            nameIdFormat: sp.settings.nameIdFormat ?? null,
          },
        ),
      );
    },

    updateSp(server, entityId, change, actor) {
      return spRepository().update(
        server,
        entityId,
        {
          ...(change.metadataXml !== undefined && { metadataXml: change.metadataXml }),
          settings: (current) => {
            const { nameIdFormat, ...rest } = change.settings;
            const { nameIdFormat: stored, ...kept } = current.settings;
            const format = nameIdFormat === undefined ? stored : (nameIdFormat ?? undefined);
            return { ...kept, ...rest, ...(format !== undefined && { nameIdFormat: format }) };
          },
        },
        (sp) => {
          // Checked against the metadata the SP ends up with, inside the write: a refusal stores nothing.
          if (sp.settings.encrypt && sp.metadata.encryptionCertificates.length === 0)
            throw new SamlError('malformed', 'encrypt needs an encryption certificate in the metadata');
          return record(
            'saml_sp.updated',
            server,
            actor,
            { kind: 'saml_sp', id: sp.entityId },
            {
              changed: [
                ...(change.metadataXml !== undefined ? ['metadata'] : []),
                ...Object.keys(change.settings),
              ].sort(),
              sign: sp.settings.sign,
              encrypt: sp.settings.encrypt,
              authnRequestsSigned: sp.metadata.authnRequestsSigned,
              attributes: Object.keys(sp.settings.attributes).sort(),
              nameIdFormat: sp.settings.nameIdFormat ?? null,
            },
          );
        },
      );
    },

    deleteSp(server, entityId, actor) {
      return spRepository().remove(server, entityId, () =>
        record('saml_sp.deleted', server, actor, { kind: 'saml_sp', id: entityId }),
      );
    },
  };
}
