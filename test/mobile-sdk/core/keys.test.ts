// Key aliases: their random part becomes the local account id people type after a command.
import { expect } from 'chai';
import { newAlias } from '../../../mobile-sdk/core/keys.js';

describe('mobile-sdk/core/keys: newAlias', () => {
  it('is unique and its id part never starts with "-" (it would read as a command-line option)', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = newAlias('account').slice('account-'.length);
      expect(id).to.match(/^[0-9a-f]{24}$/);
      ids.add(id);
    }
    expect(ids.size).to.equal(2000);
  });
});
