// A logout chain that expires before the browser walked it: the SP it was waiting for and every SP still queued
// are recorded `unreached` (the `saml_slo_outcome` log line an operator looks for), with one summary line.
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import type { LogoutChain } from '../../../idp/saml/logout-store.js';
import { createSlo } from '../../../idp/saml/slo-service.js';

describe('idp/saml: an expired logout chain', () => {
  it('records every SP it had not heard from as unreached', () => {
    const out = new PassThrough();
    const lines: Record<string, unknown>[] = [];
    out.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    });
    const deps = {
      logger: createLogger({ level: 'info', format: 'json', destination: out }),
      clock: new FixedClock(0),
      random: systemRandom,
      secretKey: 'slo-expire-test-secret-key-0123456789abcdef',
    } as unknown as Parameters<typeof createSlo>[0];
    const participant = (sp: string) => ({
      protocol: 'saml' as const,
      spEntityId: sp,
      nameId: 'n',
      nameIdFormat: 'f',
      sessionIndex: '_s',
    });
    const chain: LogoutChain = {
      sessionId: 's1',
      userid: 'u',
      queue: [participant('https://c.example'), participant('https://d.example')],
      awaiting: { participant: participant('https://b.example'), requestId: '_r' },
      outcomes: [{ spEntityId: 'https://a.example', outcome: 'success' }],
      finish: { kind: 'url', url: '/logout' },
      done: false,
    };
    createSlo(deps).expire('default', chain);
    const outcomes = lines.filter((l) => l.event === 'saml_slo_outcome');
    expect(outcomes.map((l) => [l.sp, l.outcome, l.session, l.server])).to.deep.equal([
      ['https://b.example', 'unreached', 's1', 'default'],
      ['https://c.example', 'unreached', 's1', 'default'],
      ['https://d.example', 'unreached', 's1', 'default'],
    ]);
    expect(lines.find((l) => l.event === 'saml_slo_expired')).to.deep.include({ unreached: 3 });
  });
});
