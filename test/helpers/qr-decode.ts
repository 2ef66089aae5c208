// Decodes the QR code in a PNG the way a phone camera would (jsqr over the decoded pixels).
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

// jsqr is CommonJS whose types declare an ES default export: under NodeNext the function sits on `.default`.
const jsQR = jsQRModule.default;

/** The text of the QR code in `png`, or an error naming `what` when none is readable. */
export function decodeQrPng(png: Buffer, what = 'the image'): string {
  const image = PNG.sync.read(png);
  const code = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  if (!code) throw new Error(`no QR code readable in ${what}`);
  return code.data;
}
