// Secure channel: round trips and every fail-closed case (test/protocol/cases.ts, also run in Chromium), with
// each crypto provider.
import { negative, roundTrip } from './cases.js';
import { forEachProvider } from './providers.js';

forEachProvider('protocol/channel', () => {
  describe('round trips', () => {
    for (const [name, fn] of Object.entries(roundTrip)) it(name, fn);
  });
  describe('fails closed with its error code', () => {
    for (const [name, fn] of Object.entries(negative)) it(name, fn);
  });
});
