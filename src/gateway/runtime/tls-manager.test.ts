/**
 * The TLS manager: the hosts a rule names (Traefik's muxer ParseDomains: Host matchers, not under `!`), option sets
 * resolved within the router's provider with `default` never qualified, and Traefik's rule for routers that
 * disagree on a host's options — a warning on each, and the host falls back to `default`
 * (pkg/server/router/router.go, "found different TLS options for routers on the same host").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../lib/logger.ts';
import { STATUS_ENABLED, type RuntimeInfo } from './info.ts';
import { TlsManager, ruleHosts } from './tls-manager.ts';

const tlsConfig = (options: Record<string, unknown>) => ({ certificates: [], options, stores: {} });

test('ruleHosts: Host matchers anywhere but under !, lower-cased', () => {
  assert.deepEqual(ruleHosts('Host(`A.example`) && PathPrefix(`/`)'), ['a.example']);
  assert.deepEqual(ruleHosts('(Host(`a.test`) || Host(`b.test`)) && !Host(`c.test`)'), ['a.test', 'b.test']);
  assert.deepEqual(ruleHosts('Path(`/x`) &&'), [], 'a broken rule has no hosts');
});

test('option sets resolve within the router\'s provider; an unknown one is the router\'s error', () => {
  const manager = new TlsManager(tlsConfig({ 'strict@file': { minVersion: 'VersionTLS13' } }), silentLogger());
  assert.deepEqual(manager.optionsFor({}, 'file'), { options: 'default' });
  assert.deepEqual(manager.optionsFor({ options: 'default' }, 'file'), { options: 'default' });
  assert.deepEqual(manager.optionsFor({ options: 'strict' }, 'file'), { options: 'strict@file' });
  assert.ok('error' in manager.optionsFor({ options: 'strict' }, 'consulcatalog'));
});

test('routers that disagree on a host\'s options: both warned, the host falls back to default', () => {
  const manager = new TlsManager(tlsConfig({ 'strict@file': { minVersion: 'VersionTLS13' } }), silentLogger());
  const info: RuntimeInfo = { routers: new Map(), services: new Map(), middlewares: new Map() };
  for (const name of ['a@file', 'b@file', 'c@file']) info.routers.set(name, { status: STATUS_ENABLED });
  manager.addRouter('a@file', ['websecure'], 'strict@file', 'Host(`shared.test`)');
  manager.addRouter('b@file', ['websecure'], 'default', 'Host(`shared.test`)');
  manager.addRouter('c@file', ['websecure'], 'strict@file', 'Host(`own.test`)');
  manager.assignHostOptions(info);
  assert.equal(info.routers.get('a@file')!.status, 'warning');
  assert.equal(info.routers.get('b@file')!.status, 'warning');
  assert.equal(info.routers.get('c@file')!.status, STATUS_ENABLED);
  assert.equal(manager.tls.optionsFor('websecure', 'own.test').minVersion, 'TLSv1.3');
  assert.notEqual(manager.tls.optionsFor('websecure', 'shared.test').minVersion, 'TLSv1.3');
});
