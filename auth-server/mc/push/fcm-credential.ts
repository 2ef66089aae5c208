// The OAuth access token for FCM from a service-account key: the JWT-bearer grant (RFC 7523) against Google's
// token endpoint, done here rather than by firebase-admin's `cert()`, because `cert()` drops the `httpAgent`
// for service-account objects (google-auth-library builds its token client without the transporter options),
// and every outbound call of the sender must go through the one agent (test fakes, proxies).

import type { Agent } from 'node:https';
import { request } from 'node:https';
import type { Credential, GoogleOAuthAccessToken } from 'firebase-admin/app';
import { importPKCS8, SignJWT } from 'jose';
import type { FcmServiceAccount } from './fcm.js';

export const googleTokenUrl = 'https://oauth2.googleapis.com/token';
const fcmScope = 'https://www.googleapis.com/auth/firebase.messaging';
const maxResponseBytes = 64 * 1024;
const timeoutMs = 10_000;

export function serviceAccountCredential(
  account: FcmServiceAccount & { private_key_id?: string },
  agent?: Agent,
): Credential {
  const key = importPKCS8(account.private_key, 'RS256');
  return {
    async getAccessToken(): Promise<GoogleOAuthAccessToken> {
      // Wall-clock time on purpose: Google checks iat/exp against its own clock, not our injected one.
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({ scope: fcmScope })
        .setProtectedHeader({
          alg: 'RS256',
          typ: 'JWT',
          ...(account.private_key_id ? { kid: account.private_key_id } : {}),
        })
        .setIssuer(account.client_email)
        .setAudience(googleTokenUrl)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(await key);
      const body = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion,
      }).toString();
      const { status, text } = await post(googleTokenUrl, body, agent);
      let parsed: { access_token?: unknown; expires_in?: unknown; error?: unknown };
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`token endpoint answered ${status} without JSON`);
      }
      if (status !== 200 || typeof parsed.access_token !== 'string' || typeof parsed.expires_in !== 'number')
        throw new Error(
          `token endpoint answered ${status}: ${typeof parsed.error === 'string' ? parsed.error : 'no token'}`,
        );
      return { access_token: parsed.access_token, expires_in: parsed.expires_in };
    },
  };
}

function post(
  url: string,
  body: string,
  agent: Agent | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
        timeout: timeoutMs,
        ...(agent ? { agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) res.destroy(new Error('token response too large'));
          else chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('token request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
