/**
 * The load tables of the TCP, UDP and second HTTP middleware pages (docs-replay-tcp/-udp/-middlewares2.test.ts),
 * kept beside docs-replay.test.ts's own so the manifest-wide load check there knows them too.
 *
 * Pages and what this replay covers (Traefik v3.7; "routing/" is the home of the router pages since v3.6, "router/" the
 * v3.5 one — the v3.5 branch's pages link to http/router/rules-and-priority.md — whose rules pages duplicate them; the
 * TCP and UDP observability pages exist at the old path only and are replayed anyway, as the broken examples they are):
 * - tcp/routing/{router,rules-and-priority}.md, tcp/service.md, tcp/serverstransport.md, tcp/tls.md,
 *   tcp/middlewares/{overview,inflightconn,ipallowlist}.md, tcp/router/observability.md (no routing/ twin);
 *   tcp/router/rules-and-priority.md is the same text as tcp/routing/rules-and-priority.md and is not copied twice.
 * - udp/routing/{router,rules-priority}.md, udp/service.md, udp/router/observability.md; udp/router/rules-priority.md
 *   duplicates udp/routing/rules-priority.md. udp/routing/router.md is taken at 5878238 (before the DTLS `tls` block,
 *   traefik/traefik#13844, opened 2026-09-06 and not in v3.7, which was released 2026-05-05 per #13107).
 * - http/middlewares/{stripprefixregex,encodedcharacters}.md. encodedCharacters came with traefik/traefik#12555
 *   (merged January 2026, before the v3.7.0-ea.1 of 2026-03-12), so it is in v3.7 and implemented here.
 *   http/middlewares/overview.md and http/tls/overview.md carry no YAML/TOML snippet.
 * Out of scope, not shown to be in v3.7: redirectTrailingSlash (its PR traefik/traefik#13179 was opened 2026-05-16,
 * after v3.7.0; the page has one stored version) and queryParameters (its request, issue #6276, is open in the stored
 * thread, no merged PR adding it was found, and the page and pkg/middlewares/queryparameters have one or two stored
 * versions, the newest of the tree). Traefik Hub pages (apikey, jwt, ldap, oidc, opa, waf, hmac, oauth2*,
 * distributed-ratelimit, tap) and the Kubernetes provider pages are not replayed: the gateway has neither.
 * The install-configuration pages for entry points and observability are replayed by docs-replay-entrypoints and
 * docs-replay-observability; the providers pages describe providers (Docker, Kubernetes, …) the gateway does not
 * have, except file and consulCatalog, whose options the provider tests cover.
 */

/** Snippets Meshgate refuses today, and the key paths the refusal must name. */
export const L4_EXPECTED_GAPS: Record<string, string[]> = {};

/** Snippets the page gets wrong: Traefik's own loader refuses them too. */
export const L4_DOCUMENTATION_ERRORS: Record<string, { reason: string; message: string }> = {
  'tcp-rules-and-priority.02.toml': { reason: 'TOML: `service = "service-2` has no closing quote', message: 'cannot parse' },
  // Traefik's TCPRouter (pkg/config/dynamic/tcp_config.go) has entryPoints, middlewares, service, rule, priority and
  // tls only; the file provider refuses a key its type lacks. The TOML tab is also fenced as yaml on the page.
  'tcp-observability.01.yaml': { reason: 'TCP routers have no observability field', message: 'tcp.routers.my-router.observability: unknown key' },
  'tcp-observability.02.toml': { reason: 'TCP routers have no observability field', message: 'tcp.routers.my-router.observability: unknown key' },
  // UDPRouter (pkg/config/dynamic/udp_config.go) has entryPoints and service only: no rule, no observability.
  'udp-observability.01.yaml': { reason: 'UDP routers have neither rule nor observability', message: 'udp.routers.my-router.rule: unknown key' },
  'udp-observability.02.toml': { reason: 'UDP routers have neither rule nor observability', message: 'udp.routers.my-router.rule: unknown key' },
  // TLSClientConfig.Certificates is tls.Certificates, a list of {certFile, keyFile}; the page writes bare paths (the
  // HTTP serversTransport page makes the same mistake, see docs-replay.test.ts).
  'tcp-serverstransport.01.yaml': {
    reason: 'tls.certificates are written as bare paths where Traefik takes {certFile, keyFile} objects',
    message: 'tcp.serversTransports.mytransport.tls.certificates[0]',
  },
  'tcp-serverstransport.02.toml': {
    reason: 'tls.certificates are written as bare paths where Traefik takes {certFile, keyFile} objects',
    message: 'tcp.serversTransports.mytransport.tls.certificates[0]',
  },
};
