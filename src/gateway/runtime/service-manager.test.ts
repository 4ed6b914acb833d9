/**
 * The service manager: services built on first use and once, reuse of an unchanged service across builds (Traefik
 * rebuilds only what changed: pkg/server/service/manager.go's BuildHTTP is per configuration, with state kept in
 * its health and load-balancer managers), and the errors Traefik's runtime API shows for a missing service or a
 * reference cycle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../lib/logger.ts';
import { emptyDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';
import { HealthRegistry, TransportRegistry } from '../services/index.ts';
import { STATUS_ENABLED, type RuntimeInfo } from './info.ts';
import { ServiceManager, retiredServices, type ServiceEntry } from './service-manager.ts';

function setup(services: Record<string, unknown>, previous?: ReadonlyMap<string, ServiceEntry>) {
  const config: DynamicConfig['http'] = { ...emptyDynamicConfig().http, services: services as DynamicConfig['http']['services'] };
  const info: RuntimeInfo = { routers: new Map(), services: new Map(), middlewares: new Map() };
  for (const name of Object.keys(services)) info.services.set(name, { config: services[name] as Record<string, unknown>, status: STATUS_ENABLED, usedBy: [] });
  const deps = { logger: silentLogger(), transports: new TransportRegistry(), healthRegistry: new HealthRegistry() };
  return { info, manager: new ServiceManager(config, deps, info, new Map(), previous) };
}

const lb = (url: string) => ({ loadBalancer: { servers: [{ url }] } });

test('a service is built on first use, once, and a weighted one records which services it uses', () => {
  const { info, manager } = setup({
    'a@file': lb('http://127.0.0.1:1'),
    'b@file': lb('http://127.0.0.1:2'),
    'w@file': { weighted: { services: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }] } },
  });
  assert.equal(manager.services.size, 0);
  const handler = manager.handler('w@file');
  assert.equal(typeof handler, 'function');
  assert.equal(manager.handler('w@file'), handler, 'memoised');
  assert.deepEqual([...manager.services.keys()].sort(), ['a@file', 'b@file', 'w@file']);
  assert.deepEqual(info.services.get('a@file')!.usedBy, ['w@file']);
});

test('an unchanged service is reused by the next build; a changed one, or one over a changed child, is rebuilt', () => {
  const first = setup({ 'a@file': lb('http://127.0.0.1:1'), 'b@file': lb('http://127.0.0.1:2'), 'w@file': { weighted: { services: [{ name: 'a' }] } } });
  first.manager.handler('w@file');
  first.manager.handler('b@file');
  const second = setup({ 'a@file': lb('http://127.0.0.1:9'), 'b@file': lb('http://127.0.0.1:2'), 'w@file': { weighted: { services: [{ name: 'a' }] } } }, first.manager.services);
  second.manager.handler('w@file');
  second.manager.handler('b@file');
  assert.equal(second.manager.services.get('b@file'), first.manager.services.get('b@file'));
  assert.notEqual(second.manager.services.get('a@file'), first.manager.services.get('a@file'));
  assert.notEqual(second.manager.services.get('w@file'), first.manager.services.get('w@file'), 'its child changed');
  assert.deepEqual(retiredServices(first.manager.services, second.manager.services).length, 2);
});

test('a missing service and a cycle are errors; the cycle is recorded on the service as Traefik shows it', () => {
  const { info, manager } = setup({
    'x@file': { weighted: { services: [{ name: 'y' }] } },
    'y@file': { weighted: { services: [{ name: 'x' }] } },
  });
  assert.throws(() => manager.handler('nope@file'), /the service "nope@file" does not exist/);
  assert.throws(() => manager.handler('x@file'), /is part of a cycle/);
  assert.equal(info.services.get('x@file')!.status, 'disabled');
  // A failed service fails every later lookup the same way, without building again.
  assert.throws(() => manager.handler('x@file'), /is part of a cycle/);
});
