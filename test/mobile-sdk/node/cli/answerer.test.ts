// What `nextauth-device` asks at a terminal: the login context as a phone's confirmation screen shows it.
import { expect } from 'chai';
import type { ConfirmContext } from '../../../../mobile-sdk/core/flows/types.js';
import { describeContext } from '../../../../mobile-sdk/node/cli/answerer.js';

const server = {
  id: 'https://id.example/ns/acme',
  name: 'acme',
  displayName: 'ACME',
  nsUrl: 'https://id.example',
};

function login(browser: ConfirmContext['browser']): ConfirmContext {
  return { kind: 'login', server, userid: 'alice', expiresAt: 0, ...(browser ? { browser } : {}) };
}

describe('nextauth-device: describeContext', () => {
  it('login: browser, address and its coarse location in brackets', () => {
    expect(
      describeContext(
        login({ userAgent: 'Firefox/140', ip: '81.2.69.160', location: 'London, United Kingdom' }),
      ),
    ).to.equal(
      'Log in as alice at ACME (https://id.example) from Firefox/140, 81.2.69.160 (London, United Kingdom)?',
    );
    expect(describeContext(login({ userAgent: null, ip: '10.0.0.7', location: 'local network' }))).to.equal(
      'Log in as alice at ACME (https://id.example) from 10.0.0.7 (local network)?',
    );
  });

  it('login: leaves out what the server did not send', () => {
    expect(describeContext(login({ userAgent: 'Firefox/140', ip: '192.0.2.10', location: null }))).to.equal(
      'Log in as alice at ACME (https://id.example) from Firefox/140, 192.0.2.10?',
    );
    expect(describeContext(login({ userAgent: null, ip: null, location: 'Germany' }))).to.equal(
      'Log in as alice at ACME (https://id.example) from Germany?',
    );
    expect(describeContext(login(undefined))).to.equal('Log in as alice at ACME (https://id.example)?');
  });

  it("quotes the integrator's text", () => {
    expect(
      describeContext({ kind: 'enrol', server, userid: 'alice', info: 'Alice Smith', expiresAt: 0 }),
    ).to.equal('Enrol as alice ("Alice Smith") at ACME (https://id.example)?');
  });

  it('enrol', () => {
    expect(describeContext({ kind: 'enrol', server, userid: 'alice', expiresAt: 0 })).to.equal(
      'Enrol as alice at ACME (https://id.example)?',
    );
    const serverKey = {
      emoji: ['🦊', '⚓', '🌙', '🔔'],
      words: [],
      color: '#000000',
      text: 'fox · anchor · moon · bell',
    };
    expect(describeContext({ kind: 'enrol', server, userid: 'alice', serverKey, expiresAt: 0 })).to.equal(
      'Enrol as alice at ACME (https://id.example)? Server key: 🦊 ⚓ 🌙 🔔 (fox · anchor · moon · bell).',
    );
  });
});
