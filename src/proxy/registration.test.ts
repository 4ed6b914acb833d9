/**
 * Reading a connect-proxy registration as Consul's built-in proxy does (command/connect/proxy/proxy.go and
 * connect/proxy/config.go): bind address and port from Config or the registration, the local app from
 * Config.local_service_address or LocalServiceAddress/Port (127.0.0.1 by default), upstreams' bind address
 * defaulting to 127.0.0.1, and coded errors naming the field for what cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentService } from '../api/types.ts';
import { isMeshgateError } from '../lib/errors.ts';
import { settingsFromRegistration } from './registration.ts';

const base: AgentService = {
  Kind: 'connect-proxy', ID: 'web-sidecar-proxy', Service: 'web-sidecar-proxy', Tags: [], Meta: {}, Port: 21000, Address: '10.0.0.5',
  Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
  Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web-1', LocalServicePort: 8080, Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191 }] },
};

test('defaults: public listener on the registration address and port, local app on 127.0.0.1, upstream on 127.0.0.1', () => {
  const s = settingsFromRegistration(base);
  assert.equal(s.service, 'web');
  assert.equal(s.serviceId, 'web-1');
  assert.deepEqual([s.bindAddress, s.bindPort, s.localAddress, s.localPort], ['10.0.0.5', 21000, '127.0.0.1', 8080]);
  assert.deepEqual(s.upstreams.map((u) => [u.destinationName, u.localBindAddress, u.localBindPort]), [['db', '127.0.0.1', 9191]]);
  assert.equal(s.protocol, undefined);
});

test('Config overrides: bind_address, bind_port, local_service_address, protocol, timeouts, upstream protocol', () => {
  const s = settingsFromRegistration({
    ...base,
    Proxy: {
      ...base.Proxy,
      Config: { bind_address: '127.0.0.2', bind_port: 21001, local_service_address: '127.0.0.3:9000', protocol: 'http', local_connect_timeout_ms: 250 },
      Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191, Config: { protocol: 'tcp', connect_timeout_ms: 700 } }],
    },
  });
  assert.deepEqual([s.bindAddress, s.bindPort, s.localAddress, s.localPort, s.protocol, s.localConnectTimeoutMs], ['127.0.0.2', 21001, '127.0.0.3', 9000, 'http', 250]);
  assert.equal(s.upstreams[0]!.protocol, 'tcp');
  assert.equal(s.upstreams[0]!.connectTimeoutMs, 700);
});

test('what cannot run is a coded error naming the field', () => {
  const cases: Array<[AgentService, RegExp]> = [
    [{ ...base, Kind: '' }, /not a connect-proxy/],
    [{ ...base, Proxy: { ...base.Proxy, Upstreams: [{ DestinationName: 'q', DestinationType: 'prepared_query', LocalBindPort: 1 }] } }, /Upstreams\[0\]\.DestinationType/],
    [{ ...base, Proxy: { ...base.Proxy, Upstreams: [{ DestinationName: 'db' }] } }, /Upstreams\[0\]\.LocalBindPort/],
    [{ ...base, Proxy: { ...base.Proxy, Config: { bind_port: 'abc' } } }, /Config\.bind_port/],
    [{ ...base, Proxy: { ...base.Proxy, Config: { local_service_address: 'nope' } } }, /local_service_address/],
  ];
  for (const [svc, message] of cases) {
    assert.throws(() => settingsFromRegistration(svc), (err: unknown) => isMeshgateError(err) && message.test(err.message));
  }
});
