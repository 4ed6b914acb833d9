/**
 * Tag → dynamic configuration, in the shapes of Traefik's consulcatalog config_test.go (Test_buildConfiguration,
 * TestDefaultRule): items in, one merged configuration out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../lib/logger.ts';
import { parseDefaultRuleTemplate } from '../rules/template.ts';
import { buildConfiguration, fnv1_64, type BuildOptions, type CatalogItem } from './consulcatalog-build.ts';
import { parseTagConstraints } from './consulcatalog-constraints.ts';

const RULE = 'Host(`{{ normalize .Name }}.traefik.wtf`)';

function options(overrides: Partial<Omit<BuildOptions, 'defaultRule' | 'constraints'>> & { defaultRule?: string; constraints?: string } = {}): BuildOptions {
  return {
    exposedByDefault: overrides.exposedByDefault ?? true,
    connectByDefault: overrides.connectByDefault ?? false,
    strictChecks: overrides.strictChecks ?? ['passing', 'warning'],
    defaultRule: parseDefaultRuleTemplate(overrides.defaultRule ?? RULE),
    constraints: parseTagConstraints(overrides.constraints ?? ''),
    ...(overrides.connectAware !== undefined ? { connectAware: overrides.connectAware } : {}),
    ...(overrides.connect !== undefined ? { connect: overrides.connect } : {}),
    logger: silentLogger(),
  };
}

function item(partial: Partial<CatalogItem> & { labels?: Record<string, string> }): CatalogItem {
  return { id: 'Test', node: 'Node1', datacenter: 'dc1', name: 'Test', namespace: 'default', address: '127.0.0.1', port: '80', status: 'passing', labels: {}, tags: [], ...partial };
}

const lb = (...urls: string[]) => ({ loadBalancer: { passHostHeader: true, responseForwarding: { flushInterval: '100ms' }, servers: urls.map((url) => ({ url })) } });

function build(items: CatalogItem[], opts = options()) {
  return buildConfiguration(items, opts).http;
}

test('one container no label: router and service named after the normalised service', () => {
  const http = build([item({ name: 'dev/Test' })]);
  assert.deepEqual(http.routers, { 'dev-Test': { service: 'dev-Test', rule: 'Host(`dev-Test.traefik.wtf`)' } });
  assert.deepEqual(http.services, { 'dev-Test': lb('http://127.0.0.1:80') });
  assert.deepEqual(http.middlewares, {});
});

test('two containers no label, different services', () => {
  const http = build([item({ id: '1', name: 'Test1' }), item({ id: '2', name: 'Test2', address: '127.0.0.2' })]);
  assert.deepEqual(Object.keys(http.routers).sort(), ['Test1', 'Test2']);
  assert.deepEqual(http.services.Test2, lb('http://127.0.0.2:80'));
});

test('instances of one service merge into one load balancer, one server per instance', () => {
  const http = build([
    item({ id: '2', address: '127.0.0.2' }),
    item({ id: '1', address: '127.0.0.1' }),
    item({ id: '3', address: '127.0.0.1' }), // same URL as id 1: one server
  ]);
  assert.deepEqual(http.routers, { Test: { service: 'Test', rule: 'Host(`Test.traefik.wtf`)' } });
  assert.deepEqual(http.services, { Test: lb('http://127.0.0.1:80', 'http://127.0.0.2:80') });
});

test('same service name, different passhostheader: the service is dropped, the router stays', () => {
  const http = build([
    item({ id: '1', labels: { 'traefik.http.services.Service1.loadbalancer.passhostheader': 'true' } }),
    item({ id: '2', address: '127.0.0.2', labels: { 'traefik.http.services.Service1.loadbalancer.passhostheader': 'false' } }),
  ]);
  assert.deepEqual(http.routers, { Test: { service: 'Service1', rule: 'Host(`Test.traefik.wtf`)' } });
  assert.deepEqual(http.services, {});
});

test('three containers, two agree and one disagrees: still dropped (Traefik keeps the first and deletes on conflict)', () => {
  const key = 'traefik.http.services.Service1.loadbalancer.passhostheader';
  const http = build([
    item({ id: '1', labels: { [key]: 'false' } }),
    item({ id: '2', labels: { [key]: 'true' } }),
    item({ id: '3', address: '127.0.0.2', labels: { [key]: 'true' } }),
  ]);
  assert.deepEqual(http.services, {});
});

test('same service name and same LB settings: servers pooled', () => {
  const key = 'traefik.http.services.Service1.loadbalancer.passhostheader';
  const http = build([item({ id: '1', labels: { [key]: 'true' } }), item({ id: '2', address: '127.0.0.2', labels: { [key]: 'true' } })]);
  assert.deepEqual(http.services, { Service1: lb('http://127.0.0.1:80', 'http://127.0.0.2:80') });
});

test('InFlightReq middleware from a label; identical definitions fold, different ones are dropped', () => {
  const key = 'traefik.http.middlewares.Middleware1.inflightreq.amount';
  assert.deepEqual(build([item({ labels: { [key]: '42' } })]).middlewares, { Middleware1: { inFlightReq: { amount: 42 } } });
  assert.deepEqual(build([item({ id: '1', labels: { [key]: '42' } }), item({ id: '2', address: '127.0.0.2', labels: { [key]: '42' } })]).middlewares, {
    Middleware1: { inFlightReq: { amount: 42 } },
  });
  const http = build([item({ id: '1', labels: { [key]: '42' } }), item({ id: '2', address: '127.0.0.2', labels: { [key]: '41' } })]);
  assert.deepEqual(http.middlewares, {});
  assert.deepEqual(http.services, { Test: lb('http://127.0.0.1:80', 'http://127.0.0.2:80') });
});

test('two different routers with the same name: the router is dropped, the service keeps both servers', () => {
  const http = build([
    item({ id: '1', labels: { 'traefik.http.routers.Router1.rule': 'Host(`foo.com`)' } }),
    item({ id: '2', address: '127.0.0.2', labels: { 'traefik.http.routers.Router1.rule': 'Host(`bar.com`)' } }),
  ]);
  assert.deepEqual(http.routers, {});
  assert.deepEqual(http.services, { Test: lb('http://127.0.0.1:80', 'http://127.0.0.2:80') });
});

test('router labels: rule, entrypoints, middlewares, priority, tls with domains; names keep their case', () => {
  const http = build([
    item({
      labels: {
        'traefik.http.routers.Router1.rule': 'Host(`foo.com`)',
        'traefik.http.routers.Router1.entrypoints': 'web, websecure',
        'traefik.http.routers.Router1.middlewares': 'Middleware1,Middleware2',
        'traefik.http.routers.Router1.priority': '42',
        'traefik.http.routers.Router1.tls': 'true',
        'traefik.http.routers.Router1.tls.options': 'foo',
        'traefik.http.routers.Router1.tls.domains[0].main': 'foo.com',
        'traefik.http.routers.Router1.tls.domains[0].sans': 'a.foo.com,b.foo.com',
        'traefik.http.middlewares.Middleware1.stripprefix.prefixes': '/a,/b',
        'traefik.http.middlewares.Middleware2.headers.customrequestheaders.X-Custom': 'Value',
      },
    }),
  ]);
  assert.deepEqual(http.routers, {
    Router1: {
      rule: 'Host(`foo.com`)',
      entryPoints: ['web', 'websecure'],
      middlewares: ['Middleware1', 'Middleware2'],
      priority: 42,
      tls: { options: 'foo', domains: [{ main: 'foo.com', sans: ['a.foo.com', 'b.foo.com'] }] },
      service: 'Test',
    },
  });
  assert.deepEqual(http.middlewares, {
    Middleware1: { stripPrefix: { prefixes: ['/a', '/b'] } },
    Middleware2: { headers: { customRequestHeaders: { 'X-Custom': 'Value' } } },
  });
});

test('keys match case-insensitively and come out in Traefik camelCase', () => {
  const http = build([
    item({
      labels: {
        'traefik.HTTP.Routers.Router1.Rule': 'PathPrefix(`/`)',
        'traefik.http.routers.Router1.Middlewares': 'retry3',
        'traefik.http.middlewares.retry3.Retry.Attempts': '3',
        'traefik.http.middlewares.retry3.retry.INITIALINTERVAL': '100ms',
        'traefik.http.services.Svc.LoadBalancer.PassHostHeader': 'false',
      },
    }),
  ]);
  assert.deepEqual(http.routers, { Router1: { rule: 'PathPrefix(`/`)', middlewares: ['retry3'], service: 'Svc' } });
  assert.deepEqual(http.middlewares, { retry3: { retry: { attempts: 3, initialInterval: '100ms' } } });
  assert.equal(http.services.Svc!.loadBalancer!.passHostHeader, false);
});

test('load balancer labels: server port and scheme, sticky cookie, health check', () => {
  const http = build([
    item({
      labels: {
        'traefik.http.services.Service1.loadbalancer.server.port': '8080',
        'traefik.http.services.Service1.loadbalancer.server.scheme': 'h2c',
        'traefik.http.services.Service1.loadbalancer.sticky.cookie.name': 'stick',
        'traefik.http.services.Service1.loadbalancer.sticky.cookie.secure': 'true',
        'traefik.http.services.Service1.loadbalancer.healthcheck.path': '/health',
        'traefik.http.services.Service1.loadbalancer.healthcheck.interval': '10s',
        'traefik.http.services.Service1.loadbalancer.healthcheck.headers.X-Probe': 'yes',
      },
    }),
  ]);
  assert.deepEqual(http.services.Service1, {
    loadBalancer: {
      passHostHeader: true,
      responseForwarding: { flushInterval: '100ms' },
      sticky: { cookie: { name: 'stick', secure: true } },
      healthCheck: { path: '/health', interval: '10s', headers: { 'X-Probe': 'yes' } },
      servers: [{ url: 'h2c://127.0.0.1:8080' }],
    },
  });
  assert.deepEqual(build([item({ labels: { 'traefik.http.services.S.loadbalancer.sticky.cookie': 'true' } })]).services.S!.loadBalancer!.sticky, { cookie: {} });
});

test('an IPv6 address is bracketed', () => {
  assert.deepEqual(build([item({ address: '::1' })]).services.Test, lb('http://[::1]:80'));
});

test('a bad or unknown label skips that instance only, and says which key', () => {
  const lines: string[] = [];
  const logger = silentLogger();
  const opts = { ...options(), logger: Object.assign(Object.create(logger), { child: () => ({ ...logger, error: (o: unknown, m: string) => lines.push(`${m} ${JSON.stringify(o)}`), warn() {}, info() {}, debug() {} }) }) };
  const http = build([
    item({ id: '1', labels: { 'traefik.http.routers.R.nope': 'x' } }),
    item({ id: '2', name: 'Other', labels: { 'traefik.http.middlewares.m.retry.attempts': 'many' } }),
    item({ id: '3', name: 'Third', labels: { 'traefik.http.middlewares.m.retry.attempts': '0' } }),
    item({ id: '4', name: 'Fine' }),
  ], opts);
  assert.deepEqual(Object.keys(http.routers), ['Fine']);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /traefik\.http\.routers\.R\.nope.*field not found/);
  assert.match(lines[1]!, /traefik\.http\.middlewares\.m\.retry\.attempts.*invalid number/);
  assert.match(lines[2]!, /retry\.attempts/);
});

test('enable, exposedByDefault, Connect', () => {
  assert.deepEqual(build([item({ labels: { 'traefik.enable': 'false' } })]).routers, {});
  assert.deepEqual(build([item({})], options({ exposedByDefault: false })).routers, {});
  assert.deepEqual(Object.keys(build([item({ labels: { 'traefik.enable': 'true' } })], options({ exposedByDefault: false })).routers), ['Test']);
  // Traefik's keepContainer: Connect items are filtered out while connectAware is off.
  assert.deepEqual(build([item({ labels: { 'traefik.consulcatalog.connect': 'true' } })]).routers, {});
  assert.deepEqual(build([item({})], options({ connectByDefault: true })).routers, {});
});

const CERTS = { roots: ['-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----'], certPem: '-----BEGIN CERTIFICATE-----\nleaf', keyPem: '-----BEGIN EC PRIVATE KEY-----\nkey' };

test('connectAware: a Connect item is reached over https through tls-<ns>-<dc>-<name> (Traefik config.go addServer, connect_tls.go serversTransport)', () => {
  const connect = item({ name: 'web', id: 'web-sidecar-proxy', port: '21000', labels: { 'traefik.consulcatalog.connect': 'true' } });
  const http = build([connect, { ...connect, id: 'web-sidecar-proxy-2', node: 'Node2', address: '127.0.0.2' }], options({ connectAware: true, connect: CERTS }));
  assert.deepEqual(http.services['web']!.loadBalancer!.servers, [{ url: 'https://127.0.0.1:21000' }, { url: 'https://127.0.0.2:21000' }]);
  assert.equal(http.services['web']!.loadBalancer!.serversTransport, 'tls-default-dc1-web');
  assert.deepEqual(http.serversTransports, {
    'tls-default-dc1-web': {
      serverName: 'default-dc1-web',
      insecureSkipVerify: true,
      rootCAs: CERTS.roots,
      certificates: [{ certFile: CERTS.certPem, keyFile: CERTS.keyPem }],
      peerCertURI: 'spiffe:///ns/default/dc/dc1/svc/web',
    },
  });
  // connectByDefault makes every item a Connect one; an ordinary item beside it keeps plain http.
  const both = build([item({ name: 'api' }), item({ name: 'plain', id: 'p', labels: { 'traefik.consulcatalog.connect': 'false' } })], options({ connectAware: true, connectByDefault: true, connect: CERTS }));
  assert.equal(both.services['api']!.loadBalancer!.servers![0]!.url, 'https://127.0.0.1:80');
  assert.equal(both.services['plain']!.loadBalancer!.servers![0]!.url, 'http://127.0.0.1:80');
  assert.deepEqual(Object.keys(both.serversTransports), ['tls-default-dc1-api']);
  // Until the certificates are there, Connect items wait.
  assert.deepEqual(build([connect], options({ connectAware: true })).routers, {});
});

test('strictChecks: passing and warning by default; critical and maintenance never unless listed', () => {
  const statuses = (opts: BuildOptions) =>
    ['passing', 'warning', 'critical', 'maintenance'].filter((status) => Object.keys(build([item({ status })], opts).routers).length > 0);
  assert.deepEqual(statuses(options()), ['passing', 'warning']);
  assert.deepEqual(statuses(options({ strictChecks: ['passing'] })), ['passing']);
  assert.deepEqual(statuses(options({ strictChecks: ['passing', 'warning', 'critical'] })), ['passing', 'warning', 'critical']);
});

test('constraints over tags', () => {
  const items = [item({ id: '1', name: 'A', tags: ['public', 'traefik.enable=true'] }), item({ id: '2', name: 'B', tags: ['internal'] })];
  assert.deepEqual(Object.keys(build(items, options({ constraints: 'Tag(`public`)' })).routers), ['A']);
  assert.deepEqual(Object.keys(build(items, options({ constraints: '!Tag(`public`)' })).routers), ['B']);
  assert.deepEqual(Object.keys(build(items, options({ constraints: 'TagRegex(`^traefik\\.enable=`) || Tag(`internal`)' })).routers).sort(), ['A', 'B']);
});

test('two services, no router: no router is made; a router with no service among two is dropped', () => {
  const two = { 'traefik.http.services.S1.loadbalancer.passhostheader': 'true', 'traefik.http.services.S2.loadbalancer.passhostheader': 'true' };
  let http = build([item({ labels: two })]);
  assert.deepEqual(http.routers, {});
  assert.deepEqual(Object.keys(http.services).sort(), ['S1', 'S2']);
  http = build([item({ labels: { ...two, 'traefik.http.routers.R.rule': 'Host(`x`)' } })]);
  assert.deepEqual(http.routers, {});
  http = build([item({ labels: { ...two, 'traefik.http.routers.R.rule': 'Host(`x`)', 'traefik.http.routers.R.service': 'S2' } })]);
  assert.deepEqual(http.routers, { R: { rule: 'Host(`x`)', service: 'S2' } });
});

test('defaultRule (TestDefaultRule): no variable, a label, an invalid template, an empty one', () => {
  assert.deepEqual(build([item({})], options({ defaultRule: 'Host(`foo.bar`)' })).routers, { Test: { service: 'Test', rule: 'Host(`foo.bar`)' } });
  assert.deepEqual(
    build([item({ labels: { 'traefik.domain': 'foo.bar' } })], options({ defaultRule: 'Host("{{ .Name }}.{{ index .Labels "traefik.domain" }}")' })).routers,
    { Test: { service: 'Test', rule: 'Host("Test.foo.bar")' } },
  );
  let http = build([item({})], options({ defaultRule: 'Host("{{ .Toto }}")' }));
  assert.deepEqual(http.routers, {});
  assert.deepEqual(http.services, { Test: lb('http://127.0.0.1:80') });
  http = build([item({})], options({ defaultRule: '' }));
  assert.deepEqual(http.routers, {});
  assert.deepEqual(build([item({})], options({ defaultRule: 'Host(`{{ normalize .Name }}`)' })).routers.Test!.rule, 'Host(`Test`)');
});

test('a canary instance gets its own service and router named with the FNV-1 hash of its sorted tags', () => {
  assert.equal(fnv1_64(''), '14695981039346656037');
  assert.equal(fnv1_64('a'), BigInt('0xaf63bd4c8601b7be').toString());
  const tags = ['traefik.consulcatalog.canary=true', 'b'];
  const http = build([item({ id: '1' }), item({ id: '2', address: '127.0.0.2', tags, labels: { 'traefik.consulcatalog.canary': 'true' } })]);
  const canary = `Test-${fnv1_64([...tags].sort().join(''))}`;
  assert.deepEqual(Object.keys(http.services).sort(), [canary, 'Test'].sort());
  assert.deepEqual(http.services[canary], lb('http://127.0.0.2:80'));
  assert.equal(http.routers[canary]!.rule, 'Host(`Test.traefik.wtf`)');
});

// Traefik's consulcatalog config.go buildConfiguration / buildTCPServiceConfiguration / addServerTCP and
// pkg/provider BuildTCPRouterConfiguration (config_test.go "tcp with label", "udp with label" cases).
test('TCP tags: a router takes the default load balancer with the instance address; no HTTP part when only TCP tags', () => {
  const conf = buildConfiguration([item({ labels: { 'traefik.tcp.routers.foo.rule': 'HostSNI(`foo.bar`)', 'traefik.tcp.routers.foo.tls': 'true' } })], options());
  assert.deepEqual(conf.http.routers, {});
  assert.deepEqual(conf.http.services, {});
  assert.deepEqual(conf.tcp, {
    routers: { foo: { rule: 'HostSNI(`foo.bar`)', tls: {}, service: 'Test' } },
    services: { Test: { loadBalancer: { servers: [{ address: '127.0.0.1:80' }] } } },
    middlewares: {},
    serversTransports: {},
  });
});

test('TCP tags: service port, tls and proxyProtocol labels; two instances pool servers; a router without rule is dropped', () => {
  const labels = {
    'traefik.tcp.routers.foo.rule': 'HostSNI(`*`)',
    'traefik.tcp.routers.foo.middlewares': 'allow',
    'traefik.tcp.routers.norule.service': 'db',
    'traefik.tcp.services.db.loadbalancer.server.port': '5432',
    'traefik.tcp.services.db.loadbalancer.server.tls': 'true',
    'traefik.tcp.services.db.loadbalancer.proxyprotocol.version': '1',
    'traefik.tcp.middlewares.allow.ipallowlist.sourcerange': '10.0.0.0/8,127.0.0.1/32',
  };
  const conf = buildConfiguration([item({ id: '1', labels }), item({ id: '2', address: '127.0.0.2', labels })], options());
  assert.deepEqual(conf.tcp?.routers, { foo: { rule: 'HostSNI(`*`)', middlewares: ['allow'], service: 'db' } });
  assert.deepEqual(conf.tcp?.services, {
    db: { loadBalancer: { proxyProtocol: { version: 1 }, servers: [{ address: '127.0.0.1:5432', tls: true }, { address: '127.0.0.2:5432', tls: true }] } },
  });
  assert.deepEqual(conf.tcp?.middlewares, { allow: { ipAllowList: { sourceRange: ['10.0.0.0/8', '127.0.0.1/32'] } } });
});

test('UDP tags, beside HTTP tags: both parts are built; two services leave a serviceless router out', () => {
  const conf = buildConfiguration([item({
    labels: { 'traefik.udp.routers.dns.entrypoints': 'dns', 'traefik.udp.services.dns.loadbalancer.server.port': '53', 'traefik.http.routers.web.rule': 'Path(`/`)' },
  })], options());
  assert.deepEqual(conf.udp, { routers: { dns: { entryPoints: ['dns'], service: 'dns' } }, services: { dns: { loadBalancer: { servers: [{ address: '127.0.0.1:53' }] } } } });
  assert.deepEqual(Object.keys(conf.http.routers), ['web']);
  const two = buildConfiguration([item({
    labels: { 'traefik.udp.routers.r.entrypoints': 'dns', 'traefik.udp.services.a.loadbalancer.server.port': '53', 'traefik.udp.services.b.loadbalancer.server.port': '54' },
  })], options());
  assert.deepEqual(two.udp?.routers, {});
  assert.deepEqual(Object.keys(two.udp?.services ?? {}).sort(), ['a', 'b']);
});

test('TCP/UDP tags that do not decode skip the instance, naming the key', () => {
  const bad = buildConfiguration([item({ labels: { 'traefik.tcp.services.db.loadbalancer.server.scheme': 'h2c' } })], options());
  assert.equal(bad.tcp, undefined);
  assert.deepEqual(bad.http.routers, {});
  const udpMiddleware = buildConfiguration([item({ labels: { 'traefik.udp.middlewares.m.ipallowlist.sourcerange': '10.0.0.0/8' } })], options());
  assert.equal(udpMiddleware.udp, undefined);
});

// Traefik pkg/provider/consulcatalog/config.go addServer: a `server.url` label is the server as written (scheme or
// port beside it is an error); an empty port falls back to the instance's port; the scheme is whatever is written.
test('server labels: url taken as is, empty port falls back to the instance port, scheme h2c kept', () => {
  const url = build([item({ labels: { 'traefik.http.services.Svc.loadbalancer.server.url': 'http://10.0.0.9:9000/base' } })]);
  assert.deepEqual(url.services.Svc, lb('http://10.0.0.9:9000/base'));
  const both = build([item({ labels: { 'traefik.http.services.Svc.loadbalancer.server.url': 'http://x', 'traefik.http.services.Svc.loadbalancer.server.port': '81' } })]);
  assert.deepEqual(both.services, {}, 'url with port: the instance is skipped, as Traefik logs and skips it');
  const emptyPort = build([item({ port: '8080', labels: { 'traefik.http.services.Svc.loadbalancer.server.port': '' } })]);
  assert.deepEqual(emptyPort.services.Svc, lb('http://127.0.0.1:8080'));
  const h2c = build([item({ labels: { 'traefik.http.services.Svc.loadbalancer.server.scheme': 'h2c' } })]);
  assert.deepEqual(h2c.services.Svc, lb('h2c://127.0.0.1:80'));
});

// Traefik's consulCatalog strictChecks (PR #10388) takes Consul's status names; `any` (api.HealthAny) keeps all.
test('strictChecks: any keeps every status', () => {
  const items = ['passing', 'warning', 'critical', 'maintenance'].map((status) => item({ id: status, name: status, status }));
  assert.deepEqual(Object.keys(build(items, options({ strictChecks: ['any'] })).services).sort(), ['critical', 'maintenance', 'passing', 'warning']);
});

// Traefik's allowEmptyServices: "an empty load balancer if the targeted service has no endpoint available" (503, not 404).
test('allowEmptyServices: a service whose instances are all filtered keeps its router with an empty load balancer', () => {
  const services = [{ name: 'web', tags: ['traefik.http.routers.web.rule=Host(`web.test`)'], labels: { 'traefik.http.routers.web.rule': 'Host(`web.test`)' } }];
  const critical = [item({ name: 'web', status: 'critical' })];
  assert.deepEqual(buildConfiguration(critical, options(), services).http.routers, {}, 'off by default');
  const http = buildConfiguration(critical, { ...options(), allowEmptyServices: true }, services).http;
  assert.deepEqual(http.routers, { web: { rule: 'Host(`web.test`)', service: 'web' } });
  assert.deepEqual(http.services.web, lb());
  const healthy = buildConfiguration([item({ name: 'web' })], { ...options(), allowEmptyServices: true }, services).http;
  assert.deepEqual(healthy.services.web, lb('http://127.0.0.1:80'), 'a served service is not doubled by its empty twin');
});
