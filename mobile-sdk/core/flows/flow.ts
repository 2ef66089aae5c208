// The flow state machine shared by enrolment and login: PROCESSING ⇄ WAIT_FOR_INPUT → DONE | ERROR.
import { SdkError, toSdkError } from '../errors.js';
import type { HistoryOutcome } from '../history/store.js';
import {
  type Answer,
  answerSchema,
  type FlowKind,
  type FlowSnapshot,
  type FlowState,
  type Interaction,
  type InteractionType,
} from './types.js';

/** Who and where a flow is about, as far as it has learnt: what its history entry names. */
export interface FlowSubject {
  server?: { id: string; name: string; nsUrl: string };
  userid?: string;
  accountId?: string;
}

/** How a finished flow's result reads in the history. */
export interface FlowOutcome {
  outcome: HistoryOutcome;
  reason?: string;
}

interface PendingAnswer {
  type: InteractionType;
  resolve: (answer: Answer) => void;
  reject: (err: SdkError) => void;
}

/**
 * A flow runs its steps (`run`) as plain async code; each `ask` is a WAIT_FOR_INPUT state that the app
 * leaves with `respond` (or `cancel`). Observers see every transition (`onChange`, `transitions`) and can
 * await the next state in which the flow needs them or has finished (`settled`).
 */
export abstract class Flow<R> {
  private current: FlowSnapshot<R> = { state: 'PROCESSING' };
  private pending: PendingAnswer | null = null;
  private started = false;
  private execution: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(snapshot: FlowSnapshot<R>) => void>();
  private readonly waiters: ((snapshot: FlowSnapshot<R>) => void)[] = [];
  private readonly cleanups: (() => unknown)[] = [];
  /** Every state the flow went through, in order (the first is PROCESSING). */
  readonly transitions: FlowSnapshot<R>[] = [this.current];
  /** Filled in by the steps as they learn it, so even a failed flow's history names the server. */
  protected readonly subject: FlowSubject = {};

  constructor(readonly kind: FlowKind) {}

  get snapshot(): FlowSnapshot<R> {
    return this.current;
  }

  get state(): FlowState {
    return this.current.state;
  }

  /** True until DONE or ERROR. */
  get active(): boolean {
    return this.current.state === 'WAIT_FOR_INPUT' || this.current.state === 'PROCESSING';
  }

  /** Called once by the SDK; the flow then runs on its own until it needs input. */
  start(): this {
    if (this.started) throw new SdkError('internal', 'flow already started');
    this.started = true;
    this.execution = this.execute();
    return this;
  }

  /**
   * Resolves once the steps themselves have returned, which may be after the flow reached ERROR (a cancel
   * while a step still tidies up, e.g. deletes a key it made): a process about to exit waits for it.
   */
  finished(): Promise<void> {
    return this.execution;
  }

  /** The current snapshot unless PROCESSING; otherwise the next one that is not. */
  settled(): Promise<FlowSnapshot<R>> {
    if (this.current.state !== 'PROCESSING') return Promise.resolve(this.current);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Called on every transition; returns the unsubscribe function. */
  onChange(listener: (snapshot: FlowSnapshot<R>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Answers the interaction the flow waits for; throws `invalid_input` (flow unchanged) if it does not fit. */
  respond(answer: Answer): void {
    const pending = this.pending;
    if (this.current.state !== 'WAIT_FOR_INPUT' || !pending)
      throw new SdkError('invalid_input', 'the flow is not waiting for input');
    const parsed = answerSchema.safeParse(answer);
    if (!parsed.success)
      throw new SdkError('invalid_input', parsed.error.issues[0]?.message ?? 'malformed answer');
    if (parsed.data.type !== pending.type)
      throw new SdkError('invalid_input', `expected an answer to ${pending.type}`);
    if (parsed.data.type === 'CONFIRM' && parsed.data.decision === 'not_me' && this.kind !== 'login')
      throw new SdkError('invalid_input', 'not_me applies to logins only');
    this.pending = null;
    this.transition({ state: 'PROCESSING' });
    pending.resolve(parsed.data);
  }

  /** Ends an active flow with ERROR (`cancelled` unless another error is given); no-op once finished. */
  cancel(error: SdkError = new SdkError('cancelled')): void {
    if (!this.active) return;
    const pending = this.pending;
    this.pending = null;
    this.transition({ state: 'ERROR', error });
    pending?.reject(error);
    this.cleanup();
  }

  /** What the flow is about so far (a copy). */
  get about(): FlowSubject {
    return { ...this.subject };
  }

  /** The history outcome of a DONE result. */
  abstract outcomeOf(result: R): FlowOutcome;

  /** The flow's steps; its result becomes DONE, anything it throws becomes ERROR. */
  protected abstract run(): Promise<R>;

  /** Enters WAIT_FOR_INPUT with `interaction` and resolves with the app's answer to it. */
  protected ask<T extends InteractionType>(
    interaction: Extract<Interaction, { type: T }>,
  ): Promise<Extract<Answer, { type: T }>> {
    this.ensureActive();
    return new Promise<Answer>((resolve, reject) => {
      this.pending = { type: interaction.type, resolve, reject };
      this.transition({ state: 'WAIT_FOR_INPUT', interaction });
    }) as Promise<Extract<Answer, { type: T }>>;
  }

  /** Registers something to release when the flow ends (a channel to close). */
  protected onCleanup(release: () => unknown): void {
    this.cleanups.push(release);
  }

  /** Throws once the flow was cancelled: steps with side effects call it first. */
  protected ensureActive(): void {
    if (!this.active) throw this.current.error ?? new SdkError('cancelled');
  }

  private async execute(): Promise<void> {
    try {
      const result = await this.run();
      if (this.active) this.transition({ state: 'DONE', result });
    } catch (err) {
      if (this.active) this.transition({ state: 'ERROR', error: toSdkError(err) });
    } finally {
      this.cleanup();
    }
  }

  private cleanup(): void {
    for (const release of this.cleanups.splice(0)) {
      try {
        Promise.resolve(release()).catch(() => {});
      } catch {
        // Releasing is best effort: the flow's outcome is already decided.
      }
    }
  }

  private transition(next: FlowSnapshot<R>): void {
    this.current = next;
    this.transitions.push(next);
    for (const listener of this.listeners) listener(next);
    if (next.state !== 'PROCESSING') for (const wake of this.waiters.splice(0)) wake(next);
  }
}
