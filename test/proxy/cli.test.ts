/**
 * `meshgate proxy` flags (Consul's `consul connect proxy`: -sidecar-for / -proxy-id, CONNECT_SIDECAR_FOR /
 * CONNECT_PROXY_ID, -log-level; the shared -http-addr, -token, -token-file): usage errors exit 1 with a message, the
 * token reaches every API call, and -sidecar-for finds the one connect-proxy fronting that service ID
 * (LookupProxyIDForSidecar: none or several is an error naming them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStub } from '../../src/api/testing/stub-server.ts';
import { main } from '../../src/cli/main.ts';
import { captureIO } from '../../src/cli/testing.ts';
import { tempDir } from '../helpers/server.ts';

test('usage errors: no proxy named, both named, a bad log level or metrics address', async () => {
  for (const [args, message] of [
    [['proxy'], /One of -sidecar-for or -proxy-id/],
    [['proxy', '-sidecar-for', 'web', '-proxy-id', 'p'], /mutually exclusive/],
    [['proxy', '-proxy-id', 'p', '-log-level', 'loud'], /-log-level must be one of/],
    [['proxy', '-proxy-id', 'p', '-metrics-addr', 'nope'], /-metrics-addr must be host:port/],
  ] as const) {
    const io = captureIO();
    assert.equal(await main(args, io), 1, args.join(' '));
    assert.match(io.stderr, message);
  }
});

test('-token-file: the token is sent on the API calls; -sidecar-for with several candidates names them', async (t) => {
  const services = {
    'web-sidecar-proxy': { Kind: 'connect-proxy', ID: 'web-sidecar-proxy', Service: 'web-sidecar-proxy', Proxy: { DestinationServiceID: 'web' } },
    'web-sidecar-proxy-2': { Kind: 'connect-proxy', ID: 'web-sidecar-proxy-2', Service: 'web-sidecar-proxy', Proxy: { DestinationServiceID: 'web' } },
    'db-sidecar-proxy': { Kind: 'connect-proxy', ID: 'db-sidecar-proxy', Service: 'db-sidecar-proxy', Proxy: { DestinationServiceID: 'db' } },
  };
  const stub = await startStub((req) => (req.path === '/v1/agent/services' ? { body: JSON.stringify(services) } : { status: 404 }));
  t.after(() => stub.close());
  const dir = tempDir();
  t.after(() => dir.remove());
  const file = join(dir.path, 'token');
  writeFileSync(file, 'file-token\n');
  const io = captureIO({ CONSUL_HTTP_ADDR: stub.url });
  assert.equal(await main(['proxy', '-sidecar-for', 'web', '-token-file', file], io), 1);
  assert.match(io.stderr, /More than one sidecar proxy registered for web[\s\S]*web-sidecar-proxy, web-sidecar-proxy-2/);
  assert.equal(stub.requests.at(-1)!.headers['x-consul-token'], 'file-token');

  const none = captureIO({ CONSUL_HTTP_ADDR: stub.url, CONNECT_SIDECAR_FOR: 'api' });
  assert.equal(await main(['proxy'], none), 1);
  assert.match(none.stderr, /No sidecar proxy registered for api/);
});
