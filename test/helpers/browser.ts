// Headless Chromium for system tests (Debian's /usr/bin/chromium driven by playwright-core, never a
// downloaded browser) and a QR reader that decodes a screenshot the way a phone camera would.
import { access } from 'node:fs/promises';
import type { Context } from 'mocha';
import { type Browser, chromium, type Page } from 'playwright-core';
import { decodeQrPng } from './qr-decode.js';
import { requireService } from './services.js';

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
  return decodeQrPng(await page.locator(selector).screenshot(), selector);
}
