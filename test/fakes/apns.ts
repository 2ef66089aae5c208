// A local APNs: an HTTP/2 TLS server (test CA) that checks what Apple checks — the ES256 provider token (kid,
// iss, freshness), `POST /3/device/<token>`, the apns-* headers, the 4 KiB payload limit — and answers 200
// with an apns-id or the JSON reasons Apple sends (BadDeviceToken, Unregistered, ...).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { createTestCertificates } from './test-ca.js';

export interface ApnsReceived {
  token: string;
  headers: Record<string, string>;
  payload: { aps?: Record<string, unknown>; [key: string]: unknown };
}

export interface ApnsFailure {
  status: number;
  reason: string;
}

export interface ApnsFake {
  address: string;
  port: number;
  ca: string;
  /** The .p8 key an operator downloads from Apple, with its key id and team id. */
  key: string;
  keyId: string;
  teamId: string;
  topic: string;
  received: ApnsReceived[];
  /** Tokens Apple says are gone (410 Unregistered). */
  unregistered: Set<string>;
  failNext(...failures: ApnsFailure[]): void;
  /** Requests refused for a protocol fault (bad token, path, header); tests expect none. */
  rejected: string[];
  close(): Promise<void>;
}

export async function startApnsFake(options: { topic?: string } = {}): Promise<ApnsFake> {
  const topic = options.topic ?? 'org.nextauth.app';
  const certs = createTestCertificates(['api.sandbox.push.apple.com', 'api.push.apple.com', 'localhost']);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = createPublicKey(createPrivateKey(key));
  const keyId = 'ABC123DEFG';
  const teamId = 'TEAM123456';
  const received: ApnsReceived[] = [];
  const rejected: string[] = [];
  const failures: ApnsFailure[] = [];
  const unregistered = new Set<string>();

  const server: Http2SecureServer = createSecureServer({ cert: certs.cert, key: certs.key });
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    const respond = (status: number, body?: object, reason?: string) => {
      if (reason) rejected.push(reason);
      const id = (headers['apns-id'] as string | undefined) ?? randomUUID();
      stream.respond({
        ':status': status,
        'apns-id': id,
        ...(body ? { 'content-type': 'application/json' } : {}),
      });
      stream.end(body ? JSON.stringify(body) : undefined);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      chunks.push(c);
    });
    stream.on('end', () => {
      void (async () => {
        const path = String(headers[':path'] ?? '');
        const match = /^\/3\/device\/([0-9a-fA-F]{1,200})$/.exec(path);
        if (headers[':method'] !== 'POST' || !match)
          return respond(404, { reason: 'BadPath' }, `path ${path}`);
        const token = match[1] ?? '';
        const bearer = /^bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
        if (!bearer) return respond(403, { reason: 'MissingProviderToken' }, 'no provider token');
        try {
          const { payload, protectedHeader } = await jwtVerify(bearer, publicKey, {
            issuer: teamId,
            algorithms: ['ES256'],
            maxTokenAge: '1h',
          });
          if (protectedHeader.kid !== keyId || payload.iat === undefined) throw new Error('kid');
        } catch {
          return respond(403, { reason: 'InvalidProviderToken' }, 'bad provider token');
        }
        if (headers['apns-topic'] !== topic) return respond(400, { reason: 'BadTopic' }, 'topic');
        const pushType = String(headers['apns-push-type'] ?? '');
        if (!['alert', 'background'].includes(pushType))
          return respond(400, { reason: 'InvalidPushType' }, 'push type');
        if (headers['apns-expiration'] !== undefined && !/^\d+$/.test(String(headers['apns-expiration'])))
          return respond(400, { reason: 'BadExpirationDate' }, 'expiration');
        const collapse = headers['apns-collapse-id'];
        if (collapse !== undefined && Buffer.byteLength(String(collapse)) > 64)
          return respond(400, { reason: 'BadCollapseId' }, 'collapse id');
        if (size > 4096) return respond(413, { reason: 'PayloadTooLarge' }, 'payload size');
        let payload: ApnsReceived['payload'];
        try {
          payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return respond(400, { reason: 'PayloadEmpty' }, 'payload not JSON');
        }
        if (typeof payload.aps !== 'object') return respond(400, { reason: 'PayloadEmpty' }, 'no aps');
        const failure = failures.shift();
        if (failure) return respond(failure.status, { reason: failure.reason });
        if (unregistered.has(token)) return respond(410, { reason: 'Unregistered', timestamp: Date.now() });
        const plain: Record<string, string> = {};
        for (const [k, v] of Object.entries(headers))
          if (!k.startsWith(':') && k !== 'authorization') plain[k] = String(v);
        received.push({ token, headers: plain, payload });
        return respond(200);
      })().catch(() => respond(500, { reason: 'InternalServerError' }, 'fake failed'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return {
    address: '127.0.0.1',
    port,
    ca: certs.ca,
    key,
    keyId,
    teamId,
    topic,
    received,
    unregistered,
    failNext: (...f) => {
      failures.push(...f);
    },
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
