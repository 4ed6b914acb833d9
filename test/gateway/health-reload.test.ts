/**
 * Active health checks across a reload: the configuration being replaced still drains its in-flight requests, and a
 * probe it started before the reload can answer after the new configuration's checker has begun. That late answer
 * must not change the new configuration's server state — Traefik cancels the previous configuration's health checks
 * at the switch (pkg/server/routerfactory.go RouterFactory.CreateRouters: cancelPrevState, then
 * serviceManager.LaunchHealthCheck under the new context).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, get, startGateway, staticYaml, tempDir, writeAtomic } from './helpers.ts';

test('a probe of the replaced configuration answering after the reload does not change the new configuration\'s server state', async () => {
  // /health: 200 until the test holds one probe (the old configuration's), then 200 for the new configuration's
  // first probes, then 500 once the held one is released with 500. /slow keeps the old configuration draining.
  let phase: 'ok' | 'hold' | 'after-hold' | 'fail' = 'ok';
  let probes = 0;
  let afterHold = 0;
  let held: ServerResponse | undefined;
  let slow: ServerResponse | undefined;
  const upstream = createServer((req, res) => {
    if (req.url === '/slow') {
      slow = res;
      return;
    }
    if (req.url !== '/health') return void res.end('app');
    probes++;
    if (phase === 'hold') {
      held = res;
      phase = 'after-hold';
      return;
    }
    if (phase === 'after-hold') afterHold++;
    res.writeHead(phase === 'fail' ? 500 : 200).end();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const dynamic = (passHostHeader: boolean) => `
http:
  routers:
    app:
      rule: PathPrefix(\`/\`)
      service: app
  services:
    app:
      loadBalancer:
        passHostHeader: ${passHostHeader}
        servers:
          - url: "${url}"
        healthCheck:
          path: /health
          interval: 200ms
          timeout: 60s
`;
  const dir = await tempDir('mg-gw-health-reload-');
  await writeFile(join(dir, 'dynamic.yml'), dynamic(true));
  await writeFile(join(dir, 'gateway.yml'), staticYaml(join(dir, 'dynamic.yml')));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  let draining: Promise<unknown> | undefined;
  try {
    const serverStatus = async () => ((await get(`${gw.admin}/api/http/services/app@file`)).json() as { serverStatus: Record<string, string>; loadBalancer: { passHostHeader?: boolean } });
    await eventually(async () => assert.ok(probes >= 1, 'the first configuration probed the server'));
    // A request the upstream never answers keeps the first configuration (and its health checker) alive after the reload.
    draining = get(`${gw.web}/slow`).catch(() => undefined);
    await eventually(async () => assert.ok(slow !== undefined, 'the slow request reached the upstream'));
    phase = 'hold';
    await eventually(async () => assert.ok(held !== undefined, 'a probe of the first configuration is held'));

    // The reload rebuilds the service (passHostHeader changed) with the same health check: the same registry entry.
    await writeAtomic(join(dir, 'dynamic.yml'), dynamic(false));
    await eventually(async () => assert.equal((await serverStatus()).loadBalancer.passHostHeader, false));
    // The new configuration's checker has seen the server up twice (so its first result was taken in).
    await eventually(async () => assert.ok(afterHold >= 2, 'the new configuration probed twice'));
    assert.equal((await serverStatus()).serverStatus[url], 'UP');

    // The old probe now answers "down" — and from here on so does the server.
    phase = 'fail';
    held!.writeHead(500).end();
    await eventually(async () => assert.equal((await serverStatus()).serverStatus[url], 'DOWN', 'the new configuration sees the failing server'), 15_000);
  } finally {
    slow?.end('late');
    await draining;
    await gw.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});
