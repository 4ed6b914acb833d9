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

// Traefik pkg/config/kv/kv_node.go filterPairs: pairs sorted as text, the items of a list of scalars (keys ending in a
// numeric segment) joined with "," under the list's key; paerser parser/element_fill.go setSlice splits that value on
// "," and trims each item; setSliceStruct keeps the node's children in the order the sorted keys named them.
test('lists are in key order as text, as Traefik sorts the pairs (…/10 before …/2), for scalars and sections alike', () => {
  const pairs: Record<string, string> = { 'traefik/http/routers/r/rule': 'Path(`/`)', 'traefik/http/routers/r/service': 's' };
  for (let i = 0; i < 12; i++) pairs[`traefik/http/routers/r/middlewares/${i}`] = `m${i}`;
  for (let i = 0; i < 12; i++) pairs[`traefik/http/services/s/loadbalancer/servers/${i}/url`] = `http://127.0.0.1:${8000 + i}`;
  pairs['traefik/acme/account'] = 'not configuration';
  pairs['traefik/'] = '';
  pairs['other/http/routers/x/rule'] = 'Path(`/x`)';
  const config = decodeKvPairs(Object.entries(pairs), 'traefik', 'test');
  const textOrder = [0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9];
  assert.deepEqual(config.http.routers.r!.middlewares, textOrder.map((i) => `m${i}`));
  const lb = (config.http.services.s as { loadBalancer: { servers: Array<{ url: string }> } }).loadBalancer;
  assert.deepEqual(lb.servers.map((s) => s.url), textOrder.map((i) => `http://127.0.0.1:${8000 + i}`));
  assert.deepEqual(Object.keys(config.http.routers), ['r']);
  assert.deepEqual(decode({ 'traefik/acme/account': 'x' }).http.routers, {});
  assert.deepEqual(decode({}, 'edge/prod').http.routers, {});
});

test('a list of scalars may be one comma-separated value, split and trimmed, and an indexed item may hold several', () => {
  const config = decode({
    'traefik/http/routers/a/rule': 'Path(`/a`)',
    'traefik/http/routers/a/entrypoints': 'web, websecure',
    'traefik/http/routers/b/rule': 'Path(`/b`)',
    'traefik/http/routers/b/entrypoints/0': 'web,admin',
    'traefik/http/routers/b/entrypoints/1': 'websecure',
    'traefik/http/routers/c/rule': 'Path(`/c`)',
    'traefik/http/routers/c/entrypoints': '',
    'traefik/http/routers/a/tls/domains/0/sans': 'a.example.org,b.example.org',
    'traefik/http/middlewares/strip/stripprefix/prefixes': '/api, /v1',
    'traefik/tls/options/o/ciphersuites': 'TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384',
    'traefik/tcp/routers/t/entrypoints': 'db1,db2',
    'traefik/tcp/routers/t/rule': 'HostSNI(`*`)',
    'traefik/tcp/routers/t/service': 'db',
  });
  assert.deepEqual(config.http.routers.a!.entryPoints, ['web', 'websecure']);
  assert.deepEqual(config.http.routers.b!.entryPoints, ['web', 'admin', 'websecure']);
  // An empty value is no list (setSlice leaves the slice nil): every entry point, as an absent key.
  assert.equal(config.http.routers.c!.entryPoints, undefined);
  assert.deepEqual(config.http.routers.a!.tls?.domains, [{ sans: ['a.example.org', 'b.example.org'] }]);
  assert.deepEqual(config.http.middlewares.strip, { stripPrefix: { prefixes: ['/api', '/v1'] } });
  assert.deepEqual((config.tls.options.o as { cipherSuites?: string[] }).cipherSuites, ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384']);
  assert.deepEqual((config.tcp?.routers.t as { entryPoints?: string[] }).entryPoints, ['db1', 'db2']);
  // A value that is not a list keeps its commas (a header value, a rule).
  const headers = decode({ 'traefik/http/middlewares/h/headers/customrequestheaders/X-Forwarded-Proto': 'https, http' });
  assert.equal(JSON.stringify(headers.http.middlewares.h), JSON.stringify({ headers: { customRequestHeaders: { 'X-Forwarded-Proto': 'https, http' } } }));
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
  // The items of a list (joined under `…/entrypoints`) beside a key below it: one or the other was meant.
  assert.throws(() => decode({ 'traefik/http/routers/r/entrypoints/0': 'web', 'traefik/http/routers/r/entrypoints/main': 'x' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MG_GATEWAY_KV_KEY');
    assert.match(err.message, /traefik\/http\/routers\/r\/entrypoints": has the value "web" and keys below it/);
    return true;
  });
  assert.throws(() => decode({ 'traefik/http/services/s/loadbalancer/servers/0/url': 'http://a', 'traefik/http/services/s/loadbalancer/servers/x/url': 'http://b' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MG_GATEWAY_KV_KEY');
    assert.match(err.message, /mixes list indexes and names/);
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
