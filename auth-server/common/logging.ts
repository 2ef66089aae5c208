// pino loggers: JSON in production, pretty on a terminal; secrets and credentials are redacted at the source.
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Paths that may carry credentials; pino replaces them before anything is written. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-apikey"]',
  'req.headers["x-nonce"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.pin',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.privateKey',
  '*.nonce',
];

export interface LogOptions {
  level: string;
  format: 'json' | 'pretty';
  /** For tests: where lines go (default stdout). */
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(options: LogOptions): Logger {
  const base = {
    level: options.level,
    name: options.name ?? 'nextauth',
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  if (options.format === 'pretty') {
    // Synchronous pretty stream: no worker thread, so start-up stays fast and lines are not lost on exit.
    const stream = pretty({ sync: true, colorize: true, destination: options.destination ?? 1 });
    return pino(base, stream);
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}
