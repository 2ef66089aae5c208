// A browser's cookie jar in front of a koa-like context, enough for the IdP session service: it reads
// `Cookie` values and applies the `Set-Cookie` headers the service appends, as a browser would.
import type { Context } from 'koa';

export interface FakeBrowser {
  jar: Map<string, string>;
  /** Every Set-Cookie header appended so far. */
  setCookies: string[];
  /** A fresh request context of this browser. */
  ctx(): Context;
}

export function fakeBrowser(): FakeBrowser {
  const jar = new Map<string, string>();
  const setCookies: string[] = [];
  return {
    jar,
    setCookies,
    ctx() {
      const ctx = {
        cookies: { get: (name: string) => jar.get(name) },
        append(header: string, value: string) {
          if (header.toLowerCase() !== 'set-cookie') return;
          setCookies.push(value);
          const [pair = ''] = value.split(';');
          const eq = pair.indexOf('=');
          const name = pair.slice(0, eq);
          const maxAge = /Max-Age=(\d+)/.exec(value)?.[1];
          if (maxAge === '0') jar.delete(name);
          else jar.set(name, pair.slice(eq + 1));
        },
      };
      return ctx as unknown as Context;
    },
  };
}
