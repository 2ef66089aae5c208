// Headless Chromium for system tests (Debian's /usr/bin/chromium driven by playwright-core, never a
// downloaded browser) and a QR reader that decodes a screenshot the way a phone camera would.
import { access } from 'node:fs/promises';
import jsQRModule from 'jsqr';
import type { Context } from 'mocha';
import { type Browser, chromium, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { requireService } from './services.js';

// jsqr is CommonJS whose types declare an ES default export: under NodeNext the function sits on `.default`.
const jsQR = jsQRModule.default;

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Launches Chromium, or skips (developer machine) / fails (CI=true) when it is not installed. */
export async function launchChromium(ctx: Context): Promise<Browser> {
  const executablePath = await requireService(ctx, 'chromium', (path) => access(path));
  return chromium.launch({ executablePath, args: chromiumArgs });
}

/** Screenshots `selector` and decodes the QR code in it. */
export async function readQr(page: Page, selector: string): Promise<string> {
  const png = PNG.sync.read(await page.locator(selector).screenshot());
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!code) throw new Error(`no QR code readable in ${selector}`);
  return code.data;
}
