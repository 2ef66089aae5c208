// `npm run bench -- push`: push logins through the MC as a ratio to QR logins in the same run. The phones,
// browsers and runtime are those of the `qr-login` scenario (bench/scenarios/qr-login.ts).
export { runPush as run } from './qr-login.js';
