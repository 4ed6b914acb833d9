/**
 * The router manager: Traefik's entry point models (pkg/server/router/router.go with
 * pkg/config/runtime applyModel — entry point `http.middlewares` in front, `http.tls` by default, a router on entry
 * points of different models split into `<ep>-<name>` copies), and each router's own errors — unknown entry point
 * (warning), no valid entry point, missing rule or service, a missing middleware — which disable that router alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../lib/logger.ts';
import { NEVER_YIELD, recordedNames } from '../../lib/slices.ts';
import { emptyDynamicConfig, type DynamicConfig, type RouterConfig } from '../config/dynamic.ts';
import { validateStaticConfig } from '../config/static.ts';
import { HealthRegistry, TransportRegistry } from '../services/index.ts';
import { STATUS_ENABLED, type RuntimeInfo } from './info.ts';
import { MiddlewareManager } from './middleware-manager.ts';
import { RouterManager, applyEntryPointModels, tlsRouteKey } from './router-manager.ts';
import { ServiceManager } from './service-manager.ts';
import { TlsManager } from './tls-manager.ts';

const staticConfig = validateStaticConfig({
  entryPoints: {
    web: { address: '127.0.0.1:0', http: { middlewares: ['gzip@file'] } },
    websecure: { address: '127.0.0.1:0', http: { tls: {} } },
    plain: { address: '127.0.0.1:0' },
  },
});

test('entry point models: middlewares in front, TLS by default, a router across models split per entry point', async () => {
  const out = await applyEntryPointModels({
    'a@file': { rule: 'Path(`/a`)', service: 's', entryPoints: ['web'], middlewares: ['own'] },
    'b@file': { rule: 'Path(`/b`)', service: 's', entryPoints: ['web', 'websecure'] },
    'c@file': { rule: 'Path(`/c`)', service: 's', entryPoints: ['plain'] },
  }, staticConfig, NEVER_YIELD);
  assert.deepEqual(out['a@file']!.middlewares, ['gzip@file', 'own']);
  assert.deepEqual(Object.keys(out).sort(), ['a@file', 'c@file', 'web-b@file', 'websecure-b@file']);
  assert.deepEqual(out['websecure-b@file']!.tls, {});
  assert.equal(out['web-b@file']!.tls, undefined);
  assert.deepEqual(out['c@file'], { rule: 'Path(`/c`)', service: 's', entryPoints: ['plain'] });
});

test('the names of a modelled router set come in enumeration order without enumerating it, or not at all when order differs', async () => {
  // The build lists its routers from these names instead of collecting the names of a 50,000-property object.
  const sources: Array<Record<string, RouterConfig>> = [
    { 'b@file': { rule: 'Path(`/b`)', service: 's', entryPoints: ['web', 'websecure'] }, 'a@file': { rule: 'Path(`/a`)', service: 's' }, 'x@file': { service: 's' } },
    { 'x@file': { rule: 'Path(`/x`)', service: 's' }, 'ping@internal': { rule: 'Path(`/ping`)', service: 'ping@internal' } },
  ];
  const out = await applyEntryPointModels(sources, staticConfig, NEVER_YIELD);
  assert.deepEqual(recordedNames(out), Object.keys(out));
  assert.equal(recordedNames({ ...out }), undefined, 'only the object it built');
  // An array index is enumerated first whatever the insertion order: no list is kept for such a set.
  const numeric = await applyEntryPointModels({ 'a@file': { service: 's', entryPoints: ['plain'] }, 7: { service: 's', entryPoints: ['plain'] } }, staticConfig, NEVER_YIELD);
  assert.deepEqual(Object.keys(numeric), ['7', 'a@file']);
  assert.equal(recordedNames(numeric), undefined);
});

function setup(routers: Record<string, RouterConfig>) {
  const http: DynamicConfig['http'] = {
    ...emptyDynamicConfig().http,
    routers,
    services: { 'svc@file': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } },
  };
  const info: RuntimeInfo = { routers: new Map(), services: new Map(), middlewares: new Map() };
  for (const [name, router] of Object.entries(routers)) info.routers.set(name, { ...router, status: STATUS_ENABLED });
  info.services.set('svc@file', { config: {}, status: STATUS_ENABLED, usedBy: [] });
  const logger = silentLogger();
  const services = new ServiceManager(http, { logger, transports: new TransportRegistry(), healthRegistry: new HealthRegistry() }, info, new Map());
  const middlewares = new MiddlewareManager(http, { logger, middlewareState: new Map() }, info, (n) => services.handler(n));
  const manager = new RouterManager({ staticConfig }, info, services, middlewares, new TlsManager(emptyDynamicConfig().tls, logger));
  return { info, manager };
}

test('each router is checked alone: the broken ones are disabled with Traefik\'s messages, the rest become routes', async () => {
  const { info, manager } = setup({
    'ok@file': { rule: 'Path(`/ok`)', service: 'svc', entryPoints: ['plain', 'nowhere'] },
    'tls@file': { rule: 'Host(`a.test`)', service: 'svc', entryPoints: ['plain'], tls: {} },
    'no-ep@file': { rule: 'Path(`/x`)', service: 'svc', entryPoints: ['nowhere'] },
    'no-rule@file': { service: 'svc', entryPoints: ['plain'] },
    'no-service@file': { rule: 'Path(`/y`)', entryPoints: ['plain'] },
    'missing-mw@file': { rule: 'Path(`/z`)', service: 'svc', entryPoints: ['plain'], middlewares: ['nope'] },
  });
  const routes = await manager.build(NEVER_YIELD);
  assert.deepEqual(routes.map((r) => r.name), ['ok@file', 'tls@file'], 'in name order, enabled only');
  assert.deepEqual(routes[0]!.entryPoints, ['plain']);
  assert.deepEqual(routes[1]!.entryPoints, [tlsRouteKey('plain')], 'a TLS router answers only TLS requests');
  assert.equal(info.routers.get('ok@file')!.status, 'warning');
  assert.deepEqual(info.routers.get('ok@file')!.error, ['entryPoint "nowhere" doesn\'t exist']);
  assert.deepEqual(info.routers.get('no-ep@file')!.error, ['entryPoint "nowhere" doesn\'t exist', 'no valid entryPoint for this router']);
  assert.deepEqual(info.routers.get('no-rule@file')!.error, ['the rule is missing on the router']);
  assert.deepEqual(info.routers.get('no-service@file')!.error, ['the service is missing on the router']);
  assert.deepEqual(info.routers.get('missing-mw@file')!.error, ['middleware "nope@file" does not exist']);
  for (const name of ['no-ep@file', 'no-rule@file', 'no-service@file', 'missing-mw@file']) assert.equal(info.routers.get(name)!.status, 'disabled');
  assert.deepEqual(info.services.get('svc@file')!.usedBy.sort(), ['missing-mw@file', 'ok@file', 'tls@file']);
});
