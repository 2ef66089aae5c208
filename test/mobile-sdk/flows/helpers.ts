// Test helpers for flows: the transition trail as strings, and enrolling an account in one call.
import { expect } from 'chai';
import type { Flow } from '../../../mobile-sdk/core/flows/flow.js';
import type { FlowSnapshot } from '../../../mobile-sdk/core/flows/types.js';
import type { World } from '../fakes.js';

export function trail<R>(flow: Flow<R>): string[] {
  return flow.transitions.map((s) => {
    if (s.state === 'WAIT_FOR_INPUT') return `WAIT:${s.interaction?.type}`;
    if (s.state === 'ERROR') return `ERROR:${s.error?.code}`;
    return s.state;
  });
}

/** Waits for the next interaction and checks its type. */
export async function expectAsk<R>(flow: Flow<R>, type: string): Promise<FlowSnapshot<R>> {
  const step = await flow.settled();
  expect(step.state, step.error?.message).to.equal('WAIT_FOR_INPUT');
  expect(step.interaction?.type).to.equal(type);
  return step;
}

export async function expectError<R>(flow: Flow<R>, code: string): Promise<FlowSnapshot<R>> {
  const step = await flow.settled();
  expect(step.state).to.equal('ERROR');
  expect(step.error?.code, step.error?.message).to.equal(code);
  return step;
}

/** Enrols `userid` (setting the PIN if the instance has none) and returns the account. */
export async function enrol(w: World, userid = 'alice', pin = '1234', server = 'default') {
  const flow = w.sdk.startEnrol(await w.ns.enrolUri(userid, server));
  await expectAsk(flow, 'CONFIRM');
  flow.respond({ type: 'CONFIRM', decision: 'approve' });
  const next = await flow.settled();
  if (next.interaction?.type === 'SET_SECOND_FACTOR') flow.respond({ type: 'SET_SECOND_FACTOR', pin });
  else if (next.interaction?.type === 'VERIFY_SECOND_FACTOR')
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin });
  const done = await flow.settled();
  expect(done.state, done.error?.message).to.equal('DONE');
  if (done.result?.outcome !== 'enrolled') throw new Error('not enrolled');
  return done.result.account;
}
