// A real OpenID provider (oidc-provider 9) for kodomohub's end-to-end tests.
//
// It listens on 127.0.0.1 (PORT, or a free port when unset or 0), takes the issuer from the
// port it got, and prints one JSON line {"issuer": "...", "port": N} on stdout once it serves.
//
// Tokens come from the client_credentials grant: every configured client stands for one
// staff member or system of one town. Access tokens are JWTs (features.resourceIndicators
// with accessTokenFormat 'jwt'), their audience is the `resource` parameter of the token
// request, and each carries the client's `tenant`, `role` and `facility` as claims
// (extraTokenClaims), so one provider serves several towns and roles.
//
// Clients come from the KODOMOHUB_OIDC_CLIENTS environment variable, a JSON array of
//   {"client_id", "client_secret", "scope", "tenant", "role", "facility"}
// (defaults below). oidc-provider silently drops any requested scope that is not in
// `scopes` or in the client's scope, so the SMART scopes a test needs must be listed in the
// client's scope; KODOMOHUB_OIDC_SCOPES adds more provider-wide scopes (space separated).
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const defaultClients = [
  { client_id: 'staff-misato', client_secret: 'staff-misato-secret', tenant: 'misato', role: 'municipal-staff',
    scope: 'user/*.cruds user/Patient.rs user/Observation.rs user/AuditEvent.rs' },
  { client_id: 'staff-kawajima', client_secret: 'staff-kawajima-secret', tenant: 'kawajima', role: 'municipal-staff',
    scope: 'user/*.cruds user/Patient.rs user/Observation.rs' },
  { client_id: 'auditor-misato', client_secret: 'auditor-misato-secret', tenant: 'misato', role: 'auditor',
    scope: 'user/AuditEvent.rs' },
  { client_id: 'nursery-misato', client_secret: 'nursery-misato-secret', tenant: 'misato', role: 'facility',
    facility: 'Organization/nursery-1', scope: 'user/Patient.rs user/Observation.cruds' },
];

const clients = JSON.parse(process.env.KODOMOHUB_OIDC_CLIENTS || 'null') ?? defaultClients;
const scopes = new Set(['openid']);
for (const c of clients) for (const s of (c.scope || '').split(' ').filter(Boolean)) scopes.add(s);
for (const s of (process.env.KODOMOHUB_OIDC_SCOPES || '').split(' ').filter(Boolean)) scopes.add(s);
const allScopes = [...scopes].join(' ');

// One RSA signing key per run, generated here; the provider publishes it at jwks_uri.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: ['openid', ...(c.scope || '').split(' ').filter(Boolean)].join(' '),
      tenant: c.tenant,
      role: c.role,
      facility: c.facility,
    })),
    extraClientMetadata: { properties: ['tenant', 'role', 'facility'] },
    scopes: [...scopes],
    jwks: { keys: [signingKey] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A token request without `resource` gets no JWT; tests always name the audience.
        defaultResource: (ctx, client, oneOf) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => ({
          scope: allScopes,
          audience: resourceIndicator,
          accessTokenTTL: Number(process.env.KODOMOHUB_OIDC_TOKEN_TTL || 300),
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (ctx, token) => {
      const client = token.client || ctx.oidc.client;
      const claims = {};
      for (const k of ['tenant', 'role', 'facility']) if (client?.[k]) claims[k] = client[k];
      return claims;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer, port }));
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
