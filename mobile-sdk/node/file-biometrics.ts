// Node "virtual phone" biometrics: a file-backed enrolled set that tests and `bio simulate` change, no prompts.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { BiometricResult, Biometrics } from '../core/ports.js';
import { writeFileAtomic } from './atomic-file.js';

export const BIOMETRICS_FILE = 'biometrics-sim.json';

const stateSchema = z
  .object({
    v: z.literal(1),
    /** The enrolled set's id (random); null when no biometric is enrolled on the "phone". */
    enrolmentId: z.string().max(64).nullable(),
    /** Results the next prompts give, in order (then `success`): how a test makes a finger not match. */
    next: z.array(z.enum(['failed', 'cancelled'])).max(100),
  })
  .strict();
export type SimulatedBiometricState = z.output<typeof stateSchema>;

const empty: SimulatedBiometricState = { v: 1, enrolmentId: null, next: [] };
const newSetId = () => randomBytes(12).toString('hex');

/**
 * The platform's biometric set as a file in the device home: `enrol` puts a finger on the phone, `change`
 * adds another one (a new set id: what invalidates a key bound to the old set), `clear` removes them all,
 * `failNext` makes the next prompt miss. A prompt succeeds whenever something is enrolled and no failure is
 * queued. Read on every call, so another process (the CLI) may change it between two prompts.
 */
export class FileBiometrics implements Biometrics {
  private readonly path: string;

  constructor(home: string) {
    this.path = join(home, BIOMETRICS_FILE);
  }

  async state(): Promise<SimulatedBiometricState> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...empty, next: [] };
      throw err;
    }
    const parsed = stateSchema.safeParse(JSON.parse(raw));
    // A broken simulation file is a test's mistake: no biometrics rather than a crash in every command.
    return parsed.success ? parsed.data : { ...empty, next: [] };
  }

  async available(): Promise<boolean> {
    return (await this.state()).enrolmentId !== null;
  }

  async enrolmentId(): Promise<string | null> {
    return (await this.state()).enrolmentId;
  }

  async authenticate(_reason: string): Promise<BiometricResult> {
    const state = await this.state();
    if (state.enrolmentId === null) return 'unavailable';
    const forced = state.next.shift();
    if (forced === undefined) return 'success';
    await this.write(state);
    return forced;
  }

  /** Enrols a biometric if none is (the set id stays when one already is). */
  async enrol(): Promise<SimulatedBiometricState> {
    const state = await this.state();
    state.enrolmentId ??= newSetId();
    return this.write(state);
  }

  /** A biometric added or removed: a new set id. */
  async change(): Promise<SimulatedBiometricState> {
    const state = await this.state();
    state.enrolmentId = newSetId();
    return this.write(state);
  }

  /** No biometric enrolled any more. */
  async clear(): Promise<SimulatedBiometricState> {
    return this.write({ v: 1, enrolmentId: null, next: [] });
  }

  /** The next prompt ends with `result` instead of a match. */
  async failNext(result: 'failed' | 'cancelled' = 'failed'): Promise<SimulatedBiometricState> {
    const state = await this.state();
    state.next.push(result);
    return this.write(state);
  }

  private async write(state: SimulatedBiometricState): Promise<SimulatedBiometricState> {
    await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`);
    return state;
  }
}
