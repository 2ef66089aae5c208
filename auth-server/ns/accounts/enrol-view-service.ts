// The enrol page's view of one enrol token (docs/decisions.md "The enrol page"): created with the enrol link
// (`page: true`), opened by the first browser that presents the view token (later ones are refused), and
// followed by that browser until the token is used (enrolled) or expires.
import type { Knex } from 'knex';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import type { Unsubscribe } from '../../common/kv/kv.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import { sha256Hex } from '../sessions/secrets.js';
import { createEnrolTokenRepository } from './enrol-tokens.js';
import { createEnrolViewRepository, type EnrolView, openUri, sealUri } from './enrol-views.js';
import { createAccountRepository } from './repository.js';

export type EnrolViewErrorCode =
  /** No such view on this server (never issued, mistyped, another server's, or swept after expiry). */
  | 'enrol_view_unknown'
  | 'enrol_view_expired'
  /** The enrol token was used: the phone enrolled, the page is over. */
  | 'enrol_view_used'
  /** Another browser opened this view first. */
  | 'enrol_view_claimed';

const messages: Record<EnrolViewErrorCode, string> = {
  enrol_view_unknown: 'Unknown enrol page',
  enrol_view_expired: 'The enrol page has expired; ask for a new link',
  enrol_view_used: 'The enrol link was already used',
  enrol_view_claimed: 'The enrol page was opened in another browser',
};

export class EnrolViewError extends Error {
  override name = 'EnrolViewError';
  constructor(readonly code: EnrolViewErrorCode) {
    super(messages[code]);
  }
}

export type EnrolViewState = 'waiting' | 'enrolled' | 'expired';

/** What the page follows: the state, and the enrolled device's own description when there is one. */
export interface EnrolViewStatus {
  state: EnrolViewState;
  server: string;
  expiresAt: string;
  description?: string;
}

export interface OpenedEnrolView {
  server: string;
  /** The `nextauth://enrol?d=…` URI of the QR (it carries the enrol token). */
  uri: string;
  expiresAt: Date;
  announceInfo: string | null;
  /** Set when this call claimed the view: the browser secret for the cookie (returned once, stored hashed). */
  browserSecret?: string;
}

export interface EnrolViewService {
  /** Stores a view of a new enrol token in the caller's transaction; returns the view token (for the URL). */
  create(
    trx: Knex,
    input: { tokenHash: string; serverId: string; uri: string; expiresAt: Date },
  ): Promise<string>;
  /**
   * Opens the view named by the view token for the browser holding `browserSecret` (none on the first
   * visit). Throws EnrolViewError. The first browser claims it; the same browser may open it again (reload).
   */
  open(server: string, viewToken: string, browserSecret: string | undefined): Promise<OpenedEnrolView>;
  /** The status of the view the browser claimed, or undefined (no such claim on this server). */
  status(
    server: string,
    browserSecret: string,
  ): Promise<{ status: EnrolViewStatus; tokenHash: string } | undefined>;
  /** Subscribes to enrolments of a token (a cue to re-read the status). */
  subscribe(tokenHash: string, handler: () => void): Promise<Unsubscribe>;
}

/** Channel of a token's enrolment on the internal bus (named by the token's hash, never the token). */
export const enrolChannel = (tokenHash: string) => `ns:enrol:${tokenHash}`;

/** base64url of 32 bytes, as issued; anything else is refused before any query. */
const secretShape = /^[A-Za-z0-9_-]{43}$/;

export function createEnrolViewService(deps: {
  db: Knex;
  clock: Clock;
  random: Random;
  servers: Pick<VirtualServerRepository, 'findByName'>;
  /** The bus (kv.subscribe), or a stand-in that never calls back. */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
}): EnrolViewService {
  const { db, clock, random } = deps;
  const views = createEnrolViewRepository(db);
  const tokens = createEnrolTokenRepository(db);
  const accounts = createAccountRepository(db);

  const serverId = async (name: string) => (await deps.servers.findByName(name))?.id;

  const statusOf = async (view: EnrolView, server: string): Promise<EnrolViewStatus> => {
    const token = await tokens.find(view.tokenHash);
    const base = { server, expiresAt: view.expiresAt.toISOString() };
    if (token?.usedAt) {
      const account = token.accountId ? await accounts.find(view.serverId, token.accountId) : undefined;
      return {
        state: 'enrolled',
        ...base,
        ...(account?.description ? { description: account.description } : {}),
      };
    }
    if (!token || view.expiresAt.getTime() <= clock.now()) return { state: 'expired', ...base };
    return { state: 'waiting', ...base };
  };

  return {
    async create(trx, input) {
      const viewToken = randomToken(random, 32);
      const viewHash = sha256Hex(viewToken);
      await createEnrolViewRepository(trx).save({
        viewHash,
        tokenHash: input.tokenHash,
        serverId: input.serverId,
        sealedUri: sealUri(viewToken, viewHash, input.uri),
        claimHash: null,
        createdAt: new Date(clock.now()),
        expiresAt: input.expiresAt,
      });
      return viewToken;
    },

    async open(server, viewToken, browserSecret) {
      const viewHash = secretShape.test(viewToken) ? sha256Hex(viewToken) : undefined;
      const view = viewHash ? await views.findByViewHash(viewHash) : undefined;
      // Another server's view reads as unknown: keys and tokens of one tenant say nothing about another.
      if (!view || !viewHash || view.serverId !== (await serverId(server)))
        throw new EnrolViewError('enrol_view_unknown');
      const token = await tokens.find(view.tokenHash);
      if (token?.usedAt) throw new EnrolViewError('enrol_view_used');
      if (!token || view.expiresAt.getTime() <= clock.now()) throw new EnrolViewError('enrol_view_expired');
      let claimed: string | undefined;
      const mine =
        browserSecret !== undefined &&
        secretShape.test(browserSecret) &&
        view.claimHash === sha256Hex(browserSecret);
      if (!mine) {
        if (view.claimHash !== null) throw new EnrolViewError('enrol_view_claimed');
        const secret = randomToken(random, 32);
        if (!(await views.claim(viewHash, sha256Hex(secret)))) throw new EnrolViewError('enrol_view_claimed');
        claimed = secret;
      }
      const uri = openUri(viewToken, viewHash, view.sealedUri);
      if (uri === undefined) throw new EnrolViewError('enrol_view_unknown');
      return {
        server,
        uri,
        expiresAt: view.expiresAt,
        announceInfo: token.announceInfo,
        ...(claimed ? { browserSecret: claimed } : {}),
      };
    },

    async status(server, browserSecret) {
      if (!secretShape.test(browserSecret)) return undefined;
      const view = await views.findByClaimHash(sha256Hex(browserSecret));
      if (!view || view.serverId !== (await serverId(server))) return undefined;
      return { status: await statusOf(view, server), tokenHash: view.tokenHash };
    },

    subscribe: (tokenHash, handler) => deps.subscribe(enrolChannel(tokenHash), () => handler()),
  };
}
