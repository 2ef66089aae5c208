// Resource indicators (RFC 8707) for the resource servers the operator registered (NEXTAUTH_OIDC_RESOURCES):
// a token asked for with `resource=` one of them is an RFC 9068 JWT access token (`typ: at+jwt`) whose
// audience is that URI, signed with the server's keys, so the resource server verifies it offline against
// the JWKS. Anything else named as `resource` is `invalid_target`: a token is never minted for an audience
// nobody vouched for.
import type { Configuration } from 'oidc-provider';
import type { OidcProviderModule } from './internals.js';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

export function resourceIndicators(
  resources: readonly string[],
  errors: OidcProviderModule['errors'],
  accessTokenTTL: number,
): ResourceIndicators {
  // Compared as written in the setting: `https://api.example` and `https://api.example/` are two audiences
  // to a resource server checking `aud`, so no normalisation that could make one stand for the other.
  const registered = new Set(resources);
  return {
    enabled: true,
    // No `resource` means the token for userinfo (opaque), as without this feature.
    defaultResource: async (_ctx, _client, oneOf) => oneOf,
    // A token request without `resource` keeps the userinfo token even when the code was granted for a
    // resource: the RP names the resource when it wants that token (RFC 8707 §2.2).
    useGrantedResource: async () => false,
    getResourceServerInfo: async (_ctx, indicator) => {
      if (!registered.has(indicator)) throw new errors.InvalidTarget('resource indicator is not registered');
      return {
        // No resource scopes in this slice: the token's meaning is its audience (and sub / client_id).
        scope: '',
        audience: indicator,
        accessTokenFormat: 'jwt',
        accessTokenTTL,
        jwt: { sign: { alg: 'RS256' } },
      };
    },
  };
}
