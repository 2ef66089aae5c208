// The vocabulary of SDK flows: states, the interactions a flow asks the app for, and the answers it takes.
import { z } from 'zod';
import type { VisualHash } from '../../../protocol/visual-hash.js';
import type { SdkError } from '../errors.js';

/** Where a flow is: waiting for the user, talking to servers, or finished one way or the other. */
export type FlowState = 'WAIT_FOR_INPUT' | 'PROCESSING' | 'DONE' | 'ERROR';

export type FlowKind =
  | 'enrol'
  | 'login'
  | 'change_pin'
  | 'delete_account'
  | 'add_biometrics'
  | 'remove_biometrics'
  | 'headless_upgrade'
  | 'sign_transaction';

/**
 * Why a login asks for the PIN although the device has a biometric key: the platform's biometric set changed
 * and the key was deleted (`bio_invalidated`), the prompt did not match or was cancelled (`bio_failed`), or
 * the server accepts only the PIN (`bio_not_allowed`).
 */
export type BiometricFallback = 'bio_invalidated' | 'bio_failed' | 'bio_not_allowed';

/** The NS virtual server a flow talks to, as the user should see it. */
export interface ServerContext {
  /** Global id `{NS URL}/ns/{name}`. */
  id: string;
  name: string;
  displayName: string;
  nsUrl: string;
}

export interface BrowserContext {
  userAgent: string | null;
  ip: string | null;
  location: string | null;
}

/** What the user is asked to confirm: who is enrolled or logged in where, and (login) from which browser. */
export interface ConfirmContext {
  kind: 'enrol' | 'login';
  server: ServerContext;
  userid: string;
  /**
   * The integrator's text (plain, one line; never render it as markup): nextAuth `announceinfo` for an
   * enrolment, `sessioninfo` for a login. null when the integrator gave none.
   */
  info?: string | null;
  /** Login only: the browser that shows the QR. */
  browser?: BrowserContext;
  /**
   * Enrol only: the pinned server key as pictures. The enrol page shows the same set; the app shows it on
   * the confirmation screen so the user can spot a QR that leads somewhere else.
   */
  serverKey?: VisualHash;
  /** Epoch milliseconds after which the server no longer accepts an answer. */
  expiresAt: number;
}

/**
 * What the user signs (SIGN_TRANSACTION): the text is the template filled with the values, rendered on the
 * device from the template whose SHA-256 is signed; `canonical` is the exact JCS that the account key signs.
 */
export interface TransactionContext {
  server: ServerContext;
  userid: string;
  tid: string;
  type: string;
  locale: string;
  /** Show exactly this (plain text; never render it as markup). */
  text: string;
  template: { id: string; text: string; sha256: string };
  values: Record<string, string>;
  /** RFC 8785 JSON that the signature covers. */
  canonical: string;
  /** OIDC CIBA: the binding message the requesting device shows too; show it with the text (signed). */
  bindingMessage?: string;
  /** The server asks for the PIN: biometrics are not offered. */
  pinRequired: boolean;
  expiresAt: number;
}

export type Interaction =
  | { type: 'CONFIRM'; context: ConfirmContext }
  | { type: 'CONFIRM_TRANSACTION'; context: TransactionContext }
  | {
      type: 'VERIFY_SECOND_FACTOR';
      server: ServerContext;
      /** null on the first ask; after a wrong PIN the attempts the server still allows. */
      attemptsLeft: number | null;
      /**
       * `change_old`: the current PIN of a PIN change; `bio_add`: the PIN that allows a biometric key (absent:
       * a PIN that confirms a login or enrolment).
       */
      purpose?: 'change_old' | 'bio_add';
      /** Set when biometrics were tried (or meant to be) and the PIN is asked instead: the app says why. */
      fallback?: BiometricFallback;
    }
  | {
      type: 'SET_SECOND_FACTOR';
      /** `change_new`: the new PIN of a PIN change (absent: the first PIN of the app instance). */
      purpose?: 'change_new';
    };

export type InteractionType = Interaction['type'];

/** `not_me` (login only) tells the server the user did not start this login: it is recorded. */
export type ConfirmDecision = 'approve' | 'decline' | 'not_me';

/** PINs are 4–12 digits: what a phone keypad offers, and never more than the SFS proof needs. */
export const pinSchema = z.string().regex(/^[0-9]{4,12}$/, 'a PIN is 4 to 12 digits');

export const answerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('CONFIRM'), decision: z.enum(['approve', 'decline', 'not_me']) }).strict(),
  z.object({ type: z.literal('CONFIRM_TRANSACTION'), decision: z.enum(['approve', 'decline']) }).strict(),
  z.object({ type: z.literal('VERIFY_SECOND_FACTOR'), pin: pinSchema }).strict(),
  z.object({ type: z.literal('SET_SECOND_FACTOR'), pin: pinSchema }).strict(),
]);
export type Answer = z.output<typeof answerSchema>;

/** One step of a flow as an observer sees it. */
export interface FlowSnapshot<R> {
  state: FlowState;
  /** Set while WAIT_FOR_INPUT. */
  interaction?: Interaction;
  /** Set once DONE. */
  result?: R;
  /** Set once ERROR. */
  error?: SdkError;
}
