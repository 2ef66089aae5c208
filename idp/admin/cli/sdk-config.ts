// `nextauth sdk-config keygen|sign|verify`: the app publisher's key and the signed SDK configuration it issues.
import { readFile, writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { systemClock } from '../../../auth-server/common/clock.js';
import { SdkConfigError } from '../../../protocol/sdk-config/errors.js';
import { publisherFingerprint } from '../../../protocol/sdk-config/fingerprint.js';
import { verifySdkConfig } from '../../../protocol/sdk-config/verify.js';
import {
  generatePublisherKey,
  readPublicJwk,
  readPublisherKeyFile,
  writePublisherKeyFile,
} from '../sdk-config/publisher-key.js';
import { signSdkConfig } from '../sdk-config/sign.js';

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `365d`, `12h`, `30m`, `3600s` → seconds. */
function duration(value: string): number {
  const m = /^([1-9]\d{0,8})([smhd])$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected a duration such as 365d, 12h, 30m or 3600s');
  return Number(m[1]) * (units[m[2] as string] as number);
}

function print(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

interface SignOptions {
  key: string;
  appId: string;
  appName: string;
  sfsUrl: string;
  sfsKey: string;
  mcUrl: string;
  mcKey: string;
  expiresIn?: number;
  out?: string;
  json?: boolean;
}

export function registerSdkConfig(program: Command): void {
  const cmd = program
    .command('sdk-config')
    .description("the app publisher's signed SDK configuration (SFS and MC endpoints and keys)");

  cmd
    .command('keygen')
    .description('create a P-256 publisher key (private JWK, mode 0600; never overwrites)')
    .requiredOption('--out <file>', 'where to write the private key')
    .option('--public-out <file>', 'also write the public key (to pin in the app)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { out: string; publicOut?: string; json?: boolean }) => {
      const key = await generatePublisherKey();
      await writePublisherKeyFile(opts.out, key);
      if (opts.publicOut)
        await writeFile(opts.publicOut, `${JSON.stringify(key.publicJwk)}\n`, { flag: 'wx' });
      print(
        opts.json,
        { file: opts.out, fingerprint: key.fingerprint, publicKey: key.publicJwk },
        [
          `wrote the publisher key to ${opts.out} (mode 0600: keep it secret and backed up)`,
          `fingerprint ${key.fingerprint}`,
          `public key  ${JSON.stringify(key.publicJwk)}`,
        ].join('\n'),
      );
    });

  cmd
    .command('sign')
    .description('sign an SDK configuration with the publisher key')
    .requiredOption('--key <file>', 'private publisher key (from `keygen`)')
    .requiredOption('--app-id <id>', 'app identifier, e.g. com.example.authenticator')
    .requiredOption('--app-name <name>', 'app name shown to people')
    .requiredOption('--sfs-url <url>', 'SFS mobile endpoint, e.g. wss://sfs.example.com/sfs/mobile')
    .requiredOption('--sfs-key <file|jwk>', 'SFS public key: a JWK file or inline JSON')
    .requiredOption('--mc-url <url>', 'MC mobile endpoint, e.g. wss://mc.example.com/mc/mobile')
    .requiredOption('--mc-key <file|jwk>', 'MC public key: a JWK file or inline JSON')
    .option('--expires-in <duration>', 'validity, e.g. 365d (default: no expiry)', duration)
    .option('--out <file>', 'write the JWS there instead of stdout')
    .option('--json', 'print {config, publisherKey, fingerprint}: the document `GET /sdk-config` serves')
    .action(async (opts: SignOptions) => {
      const key = await readPublisherKeyFile(opts.key);
      const issuedAt = Math.floor(systemClock.now() / 1000);
      const jws = await signSdkConfig(
        {
          v: 1,
          app: { id: opts.appId, name: opts.appName },
          sfs: { url: opts.sfsUrl, key: await readPublicJwk(opts.sfsKey) },
          mc: { url: opts.mcUrl, key: await readPublicJwk(opts.mcKey) },
          issuedAt,
          ...(opts.expiresIn !== undefined ? { expiresAt: issuedAt + opts.expiresIn } : {}),
        },
        key,
      );
      if (opts.out) await writeFile(opts.out, `${jws}\n`);
      const document = { config: jws, publisherKey: key.publicJwk, fingerprint: key.fingerprint };
      if (opts.json) print(true, document, '');
      else process.stdout.write(opts.out ? `wrote the signed configuration to ${opts.out}\n` : `${jws}\n`);
    });

  cmd
    .command('verify')
    .description(
      'verify a signed SDK configuration (a JWS, or a {config, publisherKey} document) as the SDK does',
    )
    .argument('<file>', 'the configuration')
    .requiredOption('--publisher-key <file>', 'the trusted publisher key (public or private JWK file)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { publisherKey: string; json?: boolean }) => {
      const trusted = await readPublicJwk(opts.publisherKey);
      const text = (await readFile(file, 'utf8')).trim();
      const jws = text.startsWith('{') ? documentConfig(text, file) : text;
      try {
        const config = await verifySdkConfig(jws, [trusted], systemClock);
        const fingerprint = await publisherFingerprint(trusted);
        const expires = config.expiresAt ? new Date(config.expiresAt * 1000).toISOString() : 'never';
        print(
          opts.json,
          { valid: true, fingerprint, config },
          [
            `valid: ${config.app.name} (${config.app.id}), signed by ${fingerprint}`,
            `sfs ${config.sfs.url}`,
            `mc  ${config.mc.url}`,
            `expires ${expires}`,
          ].join('\n'),
        );
      } catch (err) {
        if (err instanceof SdkConfigError) throw new Error(`${err.code}: ${err.message}`);
        throw err;
      }
    });
}

/** The `config` member of a `GET /sdk-config` document. */
function documentConfig(text: string, file: string): string {
  try {
    const value = JSON.parse(text) as { config?: unknown };
    if (typeof value.config === 'string') return value.config;
  } catch {
    // reported below
  }
  throw new Error(`${file} is neither a compact JWS nor a {config, publisherKey} document`);
}
