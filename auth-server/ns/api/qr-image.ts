// The login QR as an image (nextAuth getQrLogin's `img`): SVG or PNG data URLs, rendered server-side so
// pages need no QR script and no third-party asset.
import QRCode from 'qrcode';
import { z } from 'zod';

export const qrImageFormatSchema = z.enum(['svg', 'png']).optional();
export type QrImageFormat = z.output<typeof qrImageFormatSchema>;

// Medium error correction: scans reliably from a screen while keeping the code small enough for a camera.
const options = { errorCorrectionLevel: 'M', margin: 2 } as const;

const pngOptions = { ...options, type: 'png', scale: 8 } as const;

export async function qrImagePng(uri: string): Promise<Buffer> {
  return QRCode.toBuffer(uri, pngOptions);
}

export async function qrImageDataUrl(uri: string, format: 'svg' | 'png'): Promise<string> {
  if (format === 'png') return QRCode.toDataURL(uri, { ...pngOptions, type: 'image/png' });
  const svg = await QRCode.toString(uri, { ...options, type: 'svg' });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}
