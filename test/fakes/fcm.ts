// A local FCM: one HTTPS server holding test-CA certificates for the OAuth token host and the FCM host. It
// answers the JWT-bearer grant of a service account (signature, issuer, audience and scope checked) and the
// HTTP v1 `messages:send` call (bearer token, body shape), like Google does, including its error bodies.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import { createTestCertificates } from './test-ca.js';

export const fcmHosts = ['fcm.googleapis.com', 'oauth2.googleapis.com'] as const;

/** What the fake received through `messages:send` (the message as sent, after the checks passed). */
export interface FcmReceived {
  project: string;
  message: {
    token: string;
    data?: Record<string, string>;
    android?: { priority?: string; ttl?: string; collapse_key?: string };
    [key: string]: unknown;
  };
}

/** A scripted answer: an FCM v1 error status and, for send errors, the FcmError code. */
export interface FcmFailure {
  httpStatus: number;
  status: string;
  errorCode?: string;
}

export interface FcmFake {
  /** host:port the loopback agent connects to. */
  endpoint: { host: string; port: number };
  ca: string;
  /** The service-account JSON an operator would download (with a freshly generated key). */
  serviceAccount: {
    type: string;
    project_id: string;
    client_email: string;
    private_key: string;
    private_key_id: string;
  };
  received: FcmReceived[];
  /** Access tokens handed out by the OAuth endpoint. */
  tokensIssued: number;
  /** Tokens FCM says are not registered (404 UNREGISTERED). */
  unregistered: Set<string>;
  /** Answers for the next send calls, in order, before normal handling. */
  failNext(...failures: FcmFailure[]): void;
  /** Requests the fake refused (wrong path, token, body); tests expect none. */
  rejected: string[];
  close(): Promise<void>;
}

const scope = 'https://www.googleapis.com/auth/firebase.messaging';

function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function fcmError(failure: FcmFailure): string {
  return JSON.stringify({
    error: {
      code: failure.httpStatus,
      message: `fake: ${failure.errorCode ?? failure.status}`,
      status: failure.status,
      ...(failure.errorCode
        ? {
            details: [
              {
                '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError',
                errorCode: failure.errorCode,
              },
            ],
          }
        : {}),
    },
  });
}

export async function startFcmFake(options: { project?: string } = {}): Promise<FcmFake> {
  const project = options.project ?? 'nextauth-test';
  const certs = createTestCertificates(fcmHosts);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccount = {
    type: 'service_account',
    project_id: project,
    private_key_id: randomBytes(8).toString('hex'),
    client_email: `mc-push@${project}.iam.gserviceaccount.com`,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const verifyKey = await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
  const accessTokens = new Set<string>();
  const failures: FcmFailure[] = [];
  const received: FcmReceived[] = [];
  const rejected: string[] = [];
  const unregistered = new Set<string>();
  let tokensIssued = 0;

  const server: Server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(body);
    };
    const refuse = (status: number, why: string, body?: string) => {
      rejected.push(why);
      reply(
        status,
        body ?? JSON.stringify({ error: { code: status, message: why, status: 'INVALID_ARGUMENT' } }),
      );
    };
    void (async () => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      const body = await readBody(req);
      if (host === 'oauth2.googleapis.com' && req.method === 'POST' && req.url === '/token') {
        const form = new URLSearchParams(body);
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
          return refuse(400, 'unsupported grant', JSON.stringify({ error: 'unsupported_grant_type' }));
        try {
          const { payload, protectedHeader } = await jwtVerify(form.get('assertion') ?? '', verifyKey, {
            issuer: serviceAccount.client_email,
            audience: 'https://oauth2.googleapis.com/token',
          });
          if (protectedHeader.alg !== 'RS256') throw new Error('alg');
          if (
            !String(payload.scope ?? '')
              .split(' ')
              .includes(scope)
          )
            throw new Error('scope');
        } catch (err) {
          return refuse(
            400,
            `bad assertion: ${(err as Error).message}`,
            JSON.stringify({ error: 'invalid_grant' }),
          );
        }
        const token = `ya29.fake-${randomBytes(12).toString('hex')}`;
        accessTokens.add(token);
        tokensIssued++;
        return reply(200, JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
      }
      const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
      if (host === 'fcm.googleapis.com' && req.method === 'POST' && send) {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!bearer || !accessTokens.has(bearer))
          return refuse(401, 'bad bearer token', fcmError({ httpStatus: 401, status: 'UNAUTHENTICATED' }));
        if (send[1] !== project)
          return refuse(
            403,
            'wrong project',
            fcmError({ httpStatus: 403, status: 'PERMISSION_DENIED', errorCode: 'SENDER_ID_MISMATCH' }),
          );
        let parsed: { message?: FcmReceived['message']; validate_only?: boolean };
        try {
          parsed = JSON.parse(body);
        } catch {
          return refuse(400, 'body is not JSON');
        }
        const message = parsed.message;
        if (!message || typeof message.token !== 'string') return refuse(400, 'message.token missing');
        if (message.data) {
          const size = Object.entries(message.data).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
          if (size > 4096)
            return refuse(400, 'data too large', fcmError({ httpStatus: 400, status: 'INVALID_ARGUMENT' }));
          if (Object.values(message.data).some((v) => typeof v !== 'string'))
            return refuse(400, 'data values must be strings');
        }
        const failure = failures.shift();
        if (failure) return reply(failure.httpStatus, fcmError(failure));
        if (unregistered.has(message.token))
          return reply(404, fcmError({ httpStatus: 404, status: 'NOT_FOUND', errorCode: 'UNREGISTERED' }));
        received.push({ project: send[1] ?? '', message });
        return reply(
          200,
          JSON.stringify({ name: `projects/${project}/messages/${randomBytes(8).toString('hex')}` }),
        );
      }
      return refuse(404, `unexpected ${req.method} ${host}${req.url}`);
    })().catch((err: unknown) => refuse(500, `fake failed: ${(err as Error).message}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: { host: '127.0.0.1', port },
    ca: certs.ca,
    serviceAccount,
    received,
    get tokensIssued() {
      return tokensIssued;
    },
    unregistered,
    failNext: (...f) => {
      failures.push(...f);
    },
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
