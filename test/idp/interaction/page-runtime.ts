// An embedded runtime for the login page suites, with a clock the test can move forward and a stand-in for
// the phone: the NS session service over the runtime's own database and bus, so every state can be reached.
import type { Page } from 'playwright-core';
import type { Clock } from '../../../auth-server/common/clock.js';
import { systemRandom } from '../../../auth-server/common/clock.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import { createVirtualServerRepository } from '../../../auth-server/ns/servers/repository.js';
import { createSessionService, type SessionService } from '../../../auth-server/ns/sessions/service.js';
import type { Runtime } from '../../../idp/runtime/runtime.js';
import { parseLoginUri } from '../../../protocol/mobile/uris.js';
import { startTestRuntime } from '../../helpers/runtime.js';

/** A phone browser (the page offers "Open in the app" there). */
export const phoneContext = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
  userAgent:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
};

export interface PageRuntime {
  url: string;
  runtime: Runtime;
  /** Real time plus an offset the test moves (expiry without waiting). */
  clock: Clock & { offsetMs: number };
  sessions: SessionService;
  /** What a phone does with the QR the page shows: redeems its code (the page goes to `scanned`). */
  scan(page: Page): Promise<string>;
  close(): Promise<void>;
}

export async function startPageRuntime(): Promise<PageRuntime> {
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  const started = await startTestRuntime({ services: ['ns', 'sfs', 'mc', 'idp'], clock });
  const { runtime, url } = started;
  const db = runtime.dbs.ns;
  if (!db) throw new Error('no NS database');
  const sessions = createSessionService({
    db,
    kv: runtime.kv,
    clock,
    random: systemRandom,
    logger: createLogger({ level: 'silent', format: 'json' }),
    servers: createVirtualServerRepository(db, clock),
    publicUrl: url,
  });
  return {
    url,
    runtime,
    clock,
    sessions,
    async scan(page) {
      await page.waitForSelector('#qr[src^="data:image/"]');
      const uri = (await page.getAttribute('#qr', 'data-uri')) ?? '';
      const session = await sessions.redeemLoginCode(parseLoginUri(uri).c);
      return session.id;
    },
    close: started.close,
  };
}
