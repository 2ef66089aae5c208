// An in-memory IdpSessions (idp/session/types.ts) for forward-auth tests: a cookie per server whose value
// names a session; `end` forgets it, so a replayed cookie finds nothing.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type {
  IdpEndHandler,
  IdpLogin,
  IdpParticipant,
  IdpSession,
  IdpSessions,
} from '../../../idp/session/types.js';

export class FakeSessions implements IdpSessions {
  readonly byCookie = new Map<string, IdpSession>();
  now = () => Math.floor(Date.now() / 1000);

  cookieName(server: string): string {
    return `fake_idp_${server}`;
  }

  /** A session as if the login page had made one; returns the cookie header value. */
  add(
    server: string,
    login: Partial<IdpLogin> & { userid: string },
  ): { cookie: string; session: IdpSession } {
    const value = randomBytes(16).toString('base64url');
    const now = this.now();
    const session: IdpSession = {
      id: randomBytes(8).toString('hex'),
      server,
      accountId: 'acc-1',
      authTime: now,
      amr: ['swk', 'pin'],
      acr: 'urn:nextauth:phone',
      createdAt: now,
      expiresAt: now + 3600,
      ...login,
    };
    this.byCookie.set(value, session);
    return { cookie: `${this.cookieName(server)}=${value}`, session };
  }

  async establish(ctx: Context, server: string, login: IdpLogin): Promise<IdpSession> {
    const { cookie, session } = this.add(server, login);
    ctx.set('Set-Cookie', `${cookie}; Path=/; HttpOnly`);
    return session;
  }

  async current(ctx: Context, server: string): Promise<IdpSession | undefined> {
    const value = ctx.cookies.get(this.cookieName(server));
    const session = value === undefined ? undefined : this.byCookie.get(value);
    return session && session.server === server ? session : undefined;
  }

  async join(): Promise<void> {}
  async participants(): Promise<IdpParticipant[]> {
    return [];
  }

  async end(session: IdpSession): Promise<IdpParticipant[]> {
    for (const [k, s] of this.byCookie) if (s.id === session.id) this.byCookie.delete(k);
    return [];
  }

  onEnd(_protocol: IdpParticipant['protocol'], _handler: IdpEndHandler): void {}
}
