// The runtime reads NEXTAUTH_FORWARD_AUTH_RULES before anything connects: a bad file stops start-up with
// one line naming the variable, the file, the rule and the field.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../../auth-server/common/config/index.js';
import { startEmbedded } from '../oidc/harness.js';

describe('forward-auth in the runtime', function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextauth-fa-runtime-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a bad rules file stops start-up naming the variable, file, rule and field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'rules:\n  - policy: deny\n  - recent-auth: later\n');
    const err = await startEmbedded({ env: { NEXTAUTH_FORWARD_AUTH_RULES: file } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.equal(
      `NEXTAUTH_FORWARD_AUTH_RULES: ${file}: rule 1.recent-auth: expected a duration such as 90s, 5m or 1h (at most 30d)`,
    );
  });

  it('without a rules file every route needs a login; Traefik-shaped requests are understood', async () => {
    const e = await startEmbedded();
    try {
      const res = await fetch(`${e.url}/forward-auth/default`, {
        headers: {
          'X-Forwarded-Method': 'GET',
          'X-Forwarded-Proto': 'http',
          'X-Forwarded-Host': '127.0.0.1:8443',
          'X-Forwarded-Uri': '/anything',
          'X-Forwarded-For': '192.0.2.1',
          Accept: 'text/html',
        },
        redirect: 'manual',
      });
      expect(res.status).to.equal(302);
      expect(res.headers.get('location')).to.equal(
        `${e.url}/login/default?return_to=${encodeURIComponent('http://127.0.0.1:8443/anything')}`,
      );
      expect((await fetch(`${e.url}/forward-auth/nope`)).status).to.equal(404);
      const metrics = await (await fetch(`http://127.0.0.1:${e.runtime.adminListener.port}/metrics`)).text();
      expect(metrics).to.match(/nextauth_forward_auth_decisions_total\{decision="login"\} 1/);
      expect(metrics).to.match(/nextauth_forward_auth_decisions_total\{decision="unknown_server"\} 1/);
    } finally {
      await e.close();
    }
  });
});
