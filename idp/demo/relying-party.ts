// The demo's OpenID Connect client on openid-client: discovery of the IdP's own issuer, the code flow with
// PKCE, state and nonce, the ID token checked (signature through the JWKS too), and RP-initiated logout.
// The IdP is reached under its public URL (so issuer and endpoints are what any RP sees) while the
// connection goes to this process over loopback: no hairpin through a proxy or NAT in front.
import * as oidc from 'openid-client';
import type { DemoClient } from './demo-client.js';

export const demoScope = 'openid profile email groups';

export interface DemoRpDeps {
  issuer: string;
  publicUrl: string;
  client: DemoClient;
  /** Where this process listens, e.g. `http://127.0.0.1:3000`; known once the listener is up. */
  loopbackOrigin(): string;
}

export interface FlowState {
  verifier: string;
  state: string;
  nonce: string;
}

export interface DemoRp {
  /** A fresh authorization request: the URL to send the browser to and what the callback checks. */
  start(): Promise<{ url: URL; flow: FlowState }>;
  /** Redeems the code of the callback (its query string); throws when anything does not check out. */
  finish(query: string, flow: FlowState): Promise<{ idToken: string; claims: Record<string, unknown> }>;
  /** The end-session URL for a logout started by the user. */
  logoutUrl(idToken: string): Promise<URL>;
}

export function createDemoRp(deps: DemoRpDeps): DemoRp {
  const base = deps.publicUrl.replace(/\/+$/, '');
  const insecure = base.startsWith('http://');
  const viaLoopback: oidc.CustomFetch = (url, options) => {
    const target = url.startsWith(`${base}/`) ? `${deps.loopbackOrigin()}${url.slice(base.length)}` : url;
    return fetch(target, options as RequestInit);
  };
  let configured: Promise<oidc.Configuration> | undefined;
  // Discovered on first use (the listener is not up while routes are built) and kept; a failed discovery
  // is retried by the next request.
  const configuration = () => {
    configured ??= oidc
      .discovery(
        new URL(deps.issuer),
        deps.client.clientId,
        undefined,
        oidc.ClientSecretBasic(deps.client.secret),
        { [oidc.customFetch]: viaLoopback, ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}) },
      )
      .then((config) => {
        config[oidc.customFetch] = viaLoopback;
        // OIDC Core §3.1.3.7 lets a client skip the signature of an ID token it got over TLS from the token
        // endpoint; the demo checks it anyway, as an RP reading the token elsewhere would have to.
        oidc.enableNonRepudiationChecks(config);
        return config;
      })
      .catch((err: unknown) => {
        configured = undefined;
        throw err;
      });
    return configured;
  };

  return {
    async start() {
      const config = await configuration();
      const flow: FlowState = {
        verifier: oidc.randomPKCECodeVerifier(),
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: deps.client.redirectUri,
        scope: demoScope,
        code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: 'S256',
        state: flow.state,
        nonce: flow.nonce,
      });
      return { url, flow };
    },

    async finish(query, flow) {
      const config = await configuration();
      const callback = new URL(deps.client.redirectUri);
      callback.search = query;
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!tokens.id_token || !claims) throw new Error('no ID token in the token response');
      return { idToken: tokens.id_token, claims: { ...claims } };
    },

    async logoutUrl(idToken) {
      return oidc.buildEndSessionUrl(await configuration(), {
        id_token_hint: idToken,
        post_logout_redirect_uri: deps.client.postLogoutRedirectUri,
      });
    },
  };
}
