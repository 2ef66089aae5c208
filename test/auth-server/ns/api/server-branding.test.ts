// Per-server colours, app link and recovery-code policy (issue #7): set through the REST v2 server patch,
// contrast- and https-checked (every refusal 400 and nothing stored), served by the public branding endpoint.
import { expect } from 'chai';
import { accentProblem, contrastRatio } from '../../../../auth-server/ns/servers/branding.js';
import { checkedApi } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';

const checker = openApiChecker();

describe('ns server branding settings', () => {
  let h: Harness;
  let send: ReturnType<typeof checkedApi>;
  beforeEach(async () => {
    h = await startHarness();
    send = checkedApi(h, checker);
  });
  afterEach(() => h.close());

  const patch = (body: unknown) => send('PATCH', 'servers/acme', '/api/v2/servers/{server}', rootKey, body);
  const branding = async () => {
    const res = await fetch(`${h.url}/ns/servers/acme/branding`);
    expect(res.status).to.equal(200);
    return res.json();
  };
  const stored = () =>
    h
      .knex('ns_virtual_servers')
      .where({ name: 'acme' })
      .first('accent_light', 'accent_dark', 'app_link', 'recovery_codes', 'updated_at');

  it('computes WCAG contrast ratios', () => {
    expect(contrastRatio('#000000', '#ffffff')).to.be.closeTo(21, 0.001);
    expect(contrastRatio('#ffffff', '#ffffff')).to.equal(1);
    expect(contrastRatio('#1d4ed8', '#ffffff')).to.be.above(4.5);
    expect(accentProblem('#1d4ed8', 'light')).to.equal(undefined);
    expect(accentProblem('#8ab4ff', 'dark')).to.equal(undefined);
    expect(accentProblem('#ffff00', 'light')).to.match(/below 4.5:1/);
  });

  it('sets colours, app link and policy, records what changed and serves them as branding', async () => {
    expect(await branding()).to.deep.include({
      accentLight: null,
      accentDark: null,
      appLink: null,
      recoveryCodes: false,
    });
    const res = await patch({
      accentLight: '#0B5D1E',
      accentDark: '#7ee0a0',
      appLink: 'https://app.example.com/login',
      recoveryCodes: true,
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.include({
      accentLight: '#0b5d1e',
      accentDark: '#7ee0a0',
      appLink: 'https://app.example.com/login',
      recoveryCodes: true,
    });
    expect(await branding()).to.deep.include({
      name: 'acme',
      accentLight: '#0b5d1e',
      accentDark: '#7ee0a0',
      appLink: 'https://app.example.com/login',
      recoveryCodes: true,
    });
    const [event] = (await h.audit.query({ types: ['server.updated'] })).events;
    expect(event?.details.changed).to.deep.equal(['accentLight', 'accentDark', 'appLink', 'recoveryCodes']);
    // null goes back to the page's own colour / the custom scheme.
    const cleared = await patch({ accentLight: null, appLink: null });
    expect(cleared.body).to.deep.include({ accentLight: null, accentDark: '#7ee0a0', appLink: null });
  });

  it('refuses unreadable colours, non-https app links and wrong types with 400, storing nothing', async () => {
    const before = await stored();
    for (const body of [
      { accentLight: '#ffff00' }, // yellow on white
      { accentLight: '#777777' }, // 4.48:1, just under AA
      { accentDark: '#1d4ed8' }, // the light accent on the dark card
      { accentLight: 'blue' },
      { accentLight: '#12345' },
      { accentLight: '#1234567' },
      { appLink: 'http://app.example.com/login' },
      { appLink: 'nextauth://login' },
      { appLink: 'javascript:alert(1)' },
      { appLink: 'https://user:pw@app.example.com/' },
      { appLink: 'https://app.example.com/#x' },
      { appLink: 'https://app.example.com/?d=1' },
      { appLink: `https://app.example.com/${'a'.repeat(2048)}` },
      { recoveryCodes: 'yes' },
      { recoveryCodes: 1 },
    ]) {
      const res = await patch(body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.body.code).to.equal('invalid_body');
    }
    expect(await stored()).to.deep.equal(before);
    expect((await h.audit.query({ types: ['server.updated'] })).events).to.deep.equal([]);
  });
});
