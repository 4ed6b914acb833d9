/**
 * The local agent and the external-check runner over a real SQLite store: DeregisterCriticalServiceAfter removes a
 * service (with test-sized minimums), catalog-registered checks of external nodes are run by the server, and the
 * session helpers read node checks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../lib/logger.ts';
import { ACLS_DISABLED } from '../acl/authorizer.ts';
import type { ServerDeps } from '../deps.ts';
import { ServerMetrics } from '../metrics.ts';
import { openStore, type StateStore } from '../store/index.ts';
import { ExternalChecks } from './external-checks.ts';
import { LocalAgent } from './local-agent.ts';
import { catalogWrite, checkStatus, nodeChecks, onCheckWrite } from './state.ts';
import { Tables } from './tables.ts';
import { waitFor } from '../../lib/testing/wait-for.ts';

let dir: string;
let store: StateStore;
let closers: Array<() => Promise<void> | void>;
let deps: ServerDeps;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshgate-local-agent-'));
  store = await openStore({ backend: 'sqlite', dataDir: dir });
  closers = [];
  deps = {
    store,
    identity: { nodeName: 'local', nodeId: '11111111-2222-3333-4444-555555555555', datacenter: 'dc1', address: '127.0.0.1', version: 'test', meshgateVersion: 'test' },
    logger: silentLogger(),
    metrics: new ServerMetrics({ index: () => store.index, openBlockingQueries: () => 0 }),
    onClose: (fn) => closers.push(fn),
    url: () => '',
    ports: () => ({ http: -1, dns: -1 }),
    acl: ACLS_DISABLED,
  };
});

after(async () => {
  for (const fn of closers.reverse()) await fn();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});


test('DeregisterCriticalServiceAfter removes the service once its check stays critical', async () => {
  const agent = new LocalAgent(deps, { runner: { minInterval: 10, deregisterCriticalServiceAfterMin: 0, reapInterval: 20 } });
  await agent.start();
  await agent.registerService({ Name: 'doomed', Check: { TTL: 60_000, DeregisterCriticalServiceAfter: 100 } }, false);
  assert.ok(store.get(Tables.services, 'local/doomed'));
  // The runner starts the reap clock on a reported critical (its initial critical state does not start it).
  await agent.updateTTL('service:doomed', 'critical', 'gone');
  await waitFor(() => store.get(Tables.services, 'local/doomed') === undefined, 'service reaped');
  assert.equal(store.get(Tables.checks, 'local/service:doomed'), undefined, 'its checks went with it');
  assert.equal(store.get(Tables.agentChecks, 'local/service:doomed'), undefined);
  await agent.close();
});

test('external nodes\' HTTP checks are run by the server and only changes are written', async () => {
  let healthy = true;
  const target: Server = createServer((_req, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end(healthy ? 'fine' : 'down');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
  const port = (target.address() as AddressInfo).port;
  const external = new ExternalChecks(deps, { minInterval: 20, checkUpdateInterval: 0 });
  external.start();
  try {
    await catalogWrite(store, (c) =>
      c.register({
        node: { ID: '', Node: 'ext', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: { 'external-node': 'true' } },
        skipNodeUpdate: false,
        service: { Kind: '', ID: 'web', Service: 'web', Tags: [], Address: '', TaggedAddresses: {}, Meta: {}, Port: port, SocketPath: '', Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false },
        checks: [{
          CheckID: 'web-http', Name: 'web http', Status: 'critical', Notes: '', Output: '', ServiceID: 'web', Type: 'http',
          Interval: '20ms', Timeout: '1s', ExposedPort: 0,
          Definition: { HTTP: `http://127.0.0.1:${port}/`, Interval: '20ms', Timeout: '1s', DeregisterCriticalServiceAfter: '0s' },
        }],
      }),
    );
    await waitFor(() => checkStatus(store, 'ext', 'web-http') === 'passing', 'external check passing');
    const passingIndex = store.get(Tables.checks, 'ext/web-http')!.modifyIndex;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(store.get(Tables.checks, 'ext/web-http')!.modifyIndex, passingIndex, 'an unchanged result writes nothing');
    healthy = false;
    await waitFor(() => checkStatus(store, 'ext', 'web-http') === 'critical', 'external check critical');
    assert.match(nodeChecks(store, 'ext')[0]!.value.Output, /503/);

    // A node without consul-esm's external-node meta has an agent of its own: its checks are never probed from
    // here, even with a runnable Definition (consul-esm README: it watches nodes with "external-node" meta).
    let probed = 0;
    const other: Server = createServer((_req, res) => {
      probed++;
      res.end('fine');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    try {
      await catalogWrite(store, (c) =>
        c.register({
          node: { ID: '', Node: 'vm-with-agent', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
          skipNodeUpdate: false,
          service: { Kind: '', ID: 'api', Service: 'api', Tags: [], Address: '', TaggedAddresses: {}, Meta: {}, Port: 1, SocketPath: '', Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false },
          checks: [{
            CheckID: 'api-http', Name: 'api http', Status: 'critical', Notes: '', Output: '', ServiceID: 'api', Type: 'http',
            Interval: '20ms', Timeout: '1s', ExposedPort: 0,
            Definition: { HTTP: `http://127.0.0.1:${(other.address() as AddressInfo).port}/`, Interval: '20ms', Timeout: '1s' },
          }],
        }),
      );
      // The ext check keeps running meanwhile: once it has been written again, 'api-http' had every chance to run.
      healthy = true;
      await waitFor(() => checkStatus(store, 'ext', 'web-http') === 'passing', 'external check passing again');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(probed, 0, 'a node with its own agent is not probed by the server');
      assert.equal(checkStatus(store, 'vm-with-agent', 'api-http'), 'critical');
    } finally {
      other.closeAllConnections();
      await new Promise<void>((r) => other.close(() => r()));
    }
  } finally {
    await external.close();
    target.closeAllConnections();
    await new Promise<void>((r) => target.close(() => r()));
  }
});

test('onCheckWrite hooks run inside the write and can refuse it', async () => {
  const seen: string[] = [];
  const off = onCheckWrite(store, (_tx, e) => {
    seen.push(`${e.node}/${e.checkId}:${e.after?.Status ?? 'deleted'}`);
    if (e.after?.Notes === 'refuse') throw new Error('refused by hook');
  });
  try {
    await catalogWrite(store, (c) => c.updateCheckStatus('ext', 'web-http', 'warning', 'x'));
    assert.deepEqual(seen, ['ext/web-http:warning']);
    const before = store.index;
    await assert.rejects(
      catalogWrite(store, (c) => c.putCheck({ ...c.check('ext', 'web-http')!, Notes: 'refuse' })),
      /refused by hook/,
    );
    assert.equal(store.index, before, 'nothing was written');
    await catalogWrite(store, (c) => c.deleteNode('ext'));
    assert.ok(seen.includes('ext/web-http:deleted'));
    assert.deepEqual(nodeChecks(store, 'ext'), []);
  } finally {
    off();
  }
});
