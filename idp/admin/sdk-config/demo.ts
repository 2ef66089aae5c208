// Embedded mode's demo SDK configuration: this server's own SFS and MC, signed by a locally generated publisher key.

import type { PublicJwk } from '../../../protocol/keys.js';
import type { SdkConfigDocument } from '../../../protocol/sdk-config/schema.js';
import type { PublisherKey } from './publisher-key.js';
import { signSdkConfig } from './sign.js';

export const DEMO_APP = { id: 'nextauth-demo', name: 'nextAuth demo' } as const;

export interface DemoSdkConfigInput {
  /** NEXTAUTH_PUBLIC_URL, e.g. http://localhost:3000 (a path prefix is kept). */
  publicUrl: string;
  sfsKey: PublicJwk;
  mcKey: PublicJwk;
  publisherKey: PublisherKey;
  /** Milliseconds since the epoch (injected clock); the demo configuration does not expire. */
  now?: number;
}

/** The WebSocket URL of a mobile endpoint under the public URL: http → ws, https → wss. */
export function mobileChannelUrl(
  publicUrl: string,
  path: '/sfs/mobile' | '/mc/mobile' | '/ns/mobile',
): string {
  const url = new URL(publicUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`public URL must be http(s): ${publicUrl}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = '';
  url.hash = '';
  return url.href;
}

export function demoSdkConfig(input: DemoSdkConfigInput): Promise<string> {
  return signSdkConfig(
    {
      v: 1,
      app: { ...DEMO_APP },
      sfs: { url: mobileChannelUrl(input.publicUrl, '/sfs/mobile'), key: input.sfsKey },
      mc: { url: mobileChannelUrl(input.publicUrl, '/mc/mobile'), key: input.mcKey },
      issuedAt: Math.floor((input.now ?? Date.now()) / 1000),
    },
    input.publisherKey,
  );
}

/** The body of `GET {PUBLIC_URL}/sdk-config`: the JWS and the publisher key a demo device trusts on first use. */
export function sdkConfigDocument(jws: string, publisherKey: PublisherKey): SdkConfigDocument {
  return { config: jws, publisherKey: publisherKey.publicJwk };
}
