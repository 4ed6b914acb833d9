/**
 * The KV key layout as Traefik v3 decodes it (pkg/config/kv kv_node.go DecodeToNode/filterPairs and the examples of
 * docs/content/reference/routing-configuration/other-providers/kv.md): paths under the root key, numeric segments
 * as list indexes, case-insensitive segments, only the http/tcp/udp/tls sections, pairs taken in key order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKvPairs } from './kv-decode.ts';
// Middleware kinds register their schemas on import, as in the gateway.
import '../middlewares/index.ts';

const decode = (pairs: Record<string, string>, root = 'traefik') => decodeKvPairs(Object.entries(pairs), root, 'test');

test('the reference page\'s router, service and middleware keys decode into the dynamic configuration', () => {
  const config = decode({
    'traefik/http/routers/myrouter/rule': 'Host(`example.com`)',
    'traefik/http/routers/myrouter/entrypoints/0': 'web',
    'traefik/http/routers/myrouter/entrypoints/1': 'websecure',
    'traefik/http/routers/myrouter/middlewares/0': 'auth',
    'traefik/http/routers/myrouter/middlewares/1': 'prefix',
    'traefik/http/routers/myrouter/service': 'myservice',
    'traefik/http/routers/myrouter/priority': '42',
    'traefik/http/routers/myrouter/tls/certresolver': 'myresolver',
    'traefik/http/routers/myrouter/tls/domains/0/main': 'example.org',
    'traefik/http/routers/myrouter/tls/domains/0/sans/0': 'test.example.org',
    'traefik/http/services/myservice/loadbalancer/servers/0/url': 'http://127.0.0.1:8080',
    'traefik/http/services/myservice/loadbalancer/servers/1/url': 'http://127.0.0.1:8081',
    'traefik/http/services/myservice/loadbalancer/passhostheader': 'true',
    'traefik/http/middlewares/auth/basicauth/users/0': 'test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/',
    'traefik/http/middlewares/prefix/stripprefix/prefixes/0': '/api',
    'traefik/tcp/routers/db/rule': 'HostSNI(`*`)',
    'traefik/tcp/routers/db/service': 'db',
    'traefik/tcp/services/db/loadbalancer/servers/0/address': '127.0.0.1:5432',
    'traefik/tls/options/modern/minversion': 'VersionTLS13',
  });
  const router = config.http.routers.myrouter!;
  assert.equal(router.rule, 'Host(`example.com`)');
  assert.deepEqual(router.entryPoints, ['web', 'websecure']);
  assert.deepEqual(router.middlewares, ['auth', 'prefix']);
  assert.equal(router.priority, 42);
  assert.deepEqual(router.tls, { certResolver: 'myresolver', domains: [{ main: 'example.org', sans: ['test.example.org'] }] });
  const lb = (config.http.services.myservice as { loadBalancer: { servers: Array<{ url: string }>; passHostHeader: unknown } }).loadBalancer;
  assert.deepEqual(lb.servers.map((s) => s.url), ['http://127.0.0.1:8080', 'http://127.0.0.1:8081']);
  assert.ok(config.http.middlewares.auth && config.http.middlewares.prefix);
  assert.deepEqual(Object.keys(config.tcp?.routers ?? {}), ['db']);
  assert.equal((config.tls.options.modern as { minVersion?: string } | undefined)?.minVersion, 'VersionTLS13');
});

test('lists follow their indexes as numbers, keys outside the four sections are not configuration, no key is an empty configuration', () => {
  const pairs: Record<string, string> = { 'traefik/http/routers/r/rule': 'Path(`/`)', 'traefik/http/routers/r/service': 's' };
  for (let i = 0; i < 12; i++) pairs[`traefik/http/routers/r/middlewares/${i}`] = `m${i}`;
  pairs['traefik/acme/account'] = 'not configuration';
  pairs['traefik/'] = '';
  pairs['other/http/routers/x/rule'] = 'Path(`/x`)';
  const config = decodeKvPairs(Object.entries(pairs), 'traefik', 'test');
  assert.deepEqual(config.http.routers.r!.middlewares, Array.from({ length: 12 }, (_, i) => `m${i}`));
  assert.deepEqual(Object.keys(config.http.routers), ['r']);
  assert.deepEqual(decode({ 'traefik/acme/account': 'x' }).http.routers, {});
  assert.deepEqual(decode({}, 'edge/prod').http.routers, {});
});

test('a section given "true" exists with its defaults (`…/tls` = true), as paerser reads a pointer-to-struct field', () => {
  const config = decode({ 'traefik/http/routers/r/rule': 'Path(`/`)', 'traefik/http/routers/r/service': 's', 'traefik/http/routers/r/tls': 'true' });
  assert.deepEqual(config.http.routers.r!.tls, {});
  assert.throws(() => decode({ 'traefik/http/routers/r/tls': 'le', 'traefik/http/routers/r/tls/certresolver': 'le' }), /key "traefik\/http\/routers\/r\/tls.*": has the value "le" and keys below it/);
});

test('segments match without regard to case; of two spellings the later in key order wins, as Traefik sorts the pairs', () => {
  const config = decode({
    'traefik/HTTP/Routers/web/Rule': 'Path(`/`)',
    'traefik/http/routers/web/service': 'svc',
    // Listed "out of order" on purpose: the decoder sorts.
    'traefik/http/services/svc/loadBalancer/servers/0/url': 'http://lower',
    'traefik/HTTP/Services/svc/loadBalancer/servers/0/url': 'http://upper',
  });
  assert.deepEqual(Object.keys(config.http.routers), ['web']);
  assert.equal(config.http.routers.web!.rule, 'Path(`/`)');
  const lb = (config.http.services.svc as { loadBalancer: { servers: Array<{ url: string }> } }).loadBalancer;
  assert.equal(lb.servers[0]!.url, 'http://lower');
});

test('a bad value or a misplaced key is an error naming it, never a partial configuration', () => {
  assert.throws(() => decode({ 'traefik/http/routers/r/rule': 'Path(`/`)', 'traefik/http/routers/r/service': 's', 'traefik/http/routers/r/priority': 'high' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MG_GATEWAY_CONFIG_INVALID');
    assert.match(err.message, /http\.routers\.r\.priority/);
    return true;
  });
  assert.throws(() => decode({ 'traefik/http/routers/r/rulez': 'Path(`/`)' }), /http\.routers\.r\.rulez/);
  assert.throws(() => decode({ 'traefik/http/routers/r/entrypoints/0': 'web', 'traefik/http/routers/r/entrypoints/main': 'x' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MG_GATEWAY_KV_KEY');
    assert.match(err.message, /traefik\/http\/routers\/r\/entrypoints\/0/);
    return true;
  });
  assert.throws(() => decode({ 'traefik/http//routers/r/rule': 'x' }), /empty path segment/);
});

test('a router named __proto__ never becomes a prototype (of the routers map or of any object)', () => {
  const config = decode({ 'traefik/http/routers/__proto__/rule': 'Path(`/`)', 'traefik/http/routers/__proto__/service': 's' });
  assert.equal(Object.getPrototypeOf(config.http.routers), Object.prototype);
  assert.equal((config.http.routers as Record<string, unknown>).rule, undefined);
  assert.equal(({} as Record<string, unknown>).rule, undefined);
});
