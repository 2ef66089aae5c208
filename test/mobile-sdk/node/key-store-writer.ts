// Child process for the cross-process test: generates `count` keys named `<prefix>-<i>` in the store at `home`.
import { FileKeyStore } from '../../../mobile-sdk/node/file-key-store.js';

const [home, prefix, count] = process.argv.slice(2) as [string, string, string];
const store = new FileKeyStore({ home });
await Promise.all(Array.from({ length: Number(count) }, (_, i) => store.generate(`${prefix}-${i}`)));
