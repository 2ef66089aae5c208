// `nextauth-device init <server URL | config file>`: verify and store the signed SDK configuration.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import type { PublicJwk } from '../../../../protocol/keys.js';
import { publicJwkSchema } from '../../../../protocol/mobile/common.js';
import { systemClock } from '../../../core/clock.js';
import { fetchSdkConfig, SdkConfigError, sdkConfigDocumentSchema } from '../../../core/config/index.js';
import { SdkError } from '../../../core/errors.js';
import { type GlobalOptions, openDevice, output } from '../device.js';

interface InitOptions {
  publisherKey?: string;
  replacePublisherKey?: boolean;
}

async function readJson(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new SdkError('config_invalid', `${what} ${path}: ${(err as Error).message}`);
  }
}

/** A file holds either the `/sdk-config` document `{config, publisherKey}` or the bare JWS. */
async function fromFile(
  path: string,
  keyFile: string | undefined,
): Promise<{ jws: string; key?: PublicJwk }> {
  const text = (await readFile(path, 'utf8')).trim();
  const key = keyFile
    ? z
        .object({ ...publicJwkSchema.shape })
        .strip()
        .parse(await readJson(keyFile, 'publisher key'))
    : undefined;
  if (text.startsWith('{')) {
    const doc = sdkConfigDocumentSchema.safeParse(JSON.parse(text));
    if (!doc.success) throw new SdkError('config_invalid', `${path} is not an SDK configuration document`);
    return { jws: doc.data.config, key: key ?? doc.data.publisherKey };
  }
  return key ? { jws: text, key } : { jws: text };
}

async function init(source: string, options: InitOptions, global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  let jws: string;
  let key: PublicJwk | undefined;
  if (/^https?:\/\//i.test(source)) {
    try {
      // Trust on first use: the key served next to the configuration (a real app pins it at build time).
      const fetched = await fetchSdkConfig(source, { clock: systemClock });
      jws = fetched.jws;
      key = fetched.publisherKey;
    } catch (err) {
      if (err instanceof SdkConfigError)
        throw new SdkError('config_invalid', err.message, { reason: err.code });
      throw new SdkError('unreachable', `${source}: ${(err as Error).message}`);
    }
  } else {
    ({ jws, key } = await fromFile(source, options.publisherKey));
  }
  const configured = await sdk.configure(jws, {
    ...(key ? { publisherKey: key } : {}),
    ...(options.replacePublisherKey ? { replaceTrustedKey: true } : {}),
  });
  const { config } = configured;
  output(
    global,
    {
      publisherFingerprint: configured.publisherFingerprint,
      app: config.app,
      sfs: config.sfs.url,
      mc: config.mc.url,
    },
    `Configured for ${config.app.name} (${config.app.id}); SFS ${config.sfs.url}\n` +
      `Publisher key fingerprint: ${configured.publisherFingerprint}`,
  );
}

export function registerInit(program: Command, global: () => GlobalOptions): void {
  program
    .command('init')
    .description('trust an SDK configuration: GET {url}/sdk-config (trust on first use), or a file')
    .argument(
      '<source>',
      'server URL (http[s]://…) or a file with the JWS or the {config, publisherKey} document',
    )
    .option('--publisher-key <file>', 'JWK file of the publisher key (for a file source)')
    .option('--replace-publisher-key', 'trust a new publisher key instead of the one trusted before')
    .action((source: string, options: InitOptions) => init(source, options, global()));
}
