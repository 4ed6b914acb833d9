/**
 * The must-show health scenario through the npm `consul` package: an agent service with an HTTP check turns
 * critical when its target stops and passing when it comes back, as `health.service({ passing: true })` sees it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Consul from 'consul';
import type { RunningServer } from '../../src/server/options.ts';
import { eventually, startTestServer } from '../helpers/server.ts';

let server: RunningServer;
let consul: Consul;

before(async () => {
  server = await startTestServer();
  consul = new Consul({ host: '127.0.0.1', port: server.port });
});
after(() => server.close());

function target(port = 0): Promise<Server> {
  const http = createServer((_req, res) => res.end('ok'));
  return new Promise((resolve) => http.listen(port, '127.0.0.1', () => resolve(http)));
}

const passingIds = async (): Promise<string[]> =>
  ((await consul.health.service({ service: 'payments', passing: true })) as Array<{ Service: { ID: string } }>).map((e) => e.Service.ID);

test('an HTTP check follows its target down and back up, seen through health.service({ passing })', async () => {
  let http = await target();
  const port = (http.address() as AddressInfo).port;
  await consul.agent.service.register({
    name: 'payments', id: 'payments-1', address: '127.0.0.1', port,
    check: { name: 'payments http', http: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '1s' },
  });
  await eventually(async () => (await passingIds()).includes('payments-1'), 'the check to pass');

  await new Promise<void>((r) => http.close(() => r()));
  http.closeAllConnections();
  await eventually(async () => (await passingIds()).length === 0, 'the check to turn critical');
  const [entry] = (await consul.health.service('payments')) as Array<{ Checks: Array<{ CheckID: string; Status: string; Output: string }> }>;
  const check = entry!.Checks.find((c) => c.CheckID === 'service:payments-1')!;
  assert.equal(check.Status, 'critical');
  assert.match(check.Output, /connection refused/);

  http = await target(port);
  await eventually(async () => (await passingIds()).includes('payments-1'), 'the check to pass again');
  http.close();
  http.closeAllConnections();
});
