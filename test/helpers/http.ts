// Starts a koa app on a loopback port for a test and closes it afterwards.
import { createServer } from 'node:net';
import type { App } from '../../auth-server/common/http/app.js';
import { type Listener, listen } from '../../auth-server/common/http/server.js';

export async function serve(app: App): Promise<Listener & { url: string }> {
  const listener = await listen(app.callback(), 0, '127.0.0.1');
  return Object.assign(listener, { url: `http://127.0.0.1:${listener.port}` });
}

/** A currently free loopback port (for child processes that need a fixed port). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
