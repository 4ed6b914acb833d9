/**
 * `healthCheck.mode: grpc` on a service, against real @grpc/grpc-js servers (Traefik's pkg/healthcheck
 * checkHealthGRPC: grpc.health.v1.Health/Check with an empty service name, plain text for an unset scheme; healthy
 * only on SERVING, and a server without the health service — Unimplemented — is down). The servers' state is read
 * where Traefik's dashboard reads it, the service's `serverStatus` in the API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { healthService, type ServingStatus } from '../../src/lib/checks/probes/grpc-health.ts';
import { eventually, startGateway, staticYaml, tempDir } from './helpers.ts';

const servers: grpc.Server[] = [];
let gw: Awaited<ReturnType<typeof startGateway>>;
let status: ServingStatus = 'SERVING';
let withHealth: number;
let withoutHealth: number;

async function serve(server: grpc.Server): Promise<number> {
  servers.push(server);
  return new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

before(async () => {
  const healthy = new grpc.Server();
  healthy.addService(healthService, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<{ status: ServingStatus }>) => {
      // Traefik asks about the whole server: the empty service name.
      if (call.request.service !== '') callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else callback(null, { status });
    },
  });
  withHealth = await serve(healthy);
  withoutHealth = await serve(new grpc.Server());
  const dir = await tempDir('mg-grpc-health-');
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    g:
      rule: PathPrefix(\`/\`)
      entryPoints: [web]
      service: g
  services:
    g:
      loadBalancer:
        servers:
          - url: "h2c://127.0.0.1:${withHealth}"
          - url: "h2c://127.0.0.1:${withoutHealth}"
        healthCheck:
          mode: grpc
          interval: 100ms
          timeout: 2s
`);
  await writeFile(join(dir, 'gateway.yml'), staticYaml(join(dir, 'dynamic.yml')));
  gw = await startGateway(join(dir, 'gateway.yml'));
});

after(async () => {
  await gw?.close();
  for (const s of servers) s.forceShutdown();
});

async function serverStatus(): Promise<Record<string, string>> {
  const res = await fetch(`${gw.admin}/api/http/services/g@file`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { serverStatus?: Record<string, string> }).serverStatus ?? {};
}

test('mode grpc: SERVING is up, NOT_SERVING goes down and back up; a server without the health service is down', async () => {
  const a = `h2c://127.0.0.1:${withHealth}`;
  const b = `h2c://127.0.0.1:${withoutHealth}`;
  await eventually(async () => assert.deepEqual(await serverStatus(), { [a]: 'UP', [b]: 'DOWN' }), 20_000);
  status = 'NOT_SERVING';
  await eventually(async () => assert.equal((await serverStatus())[a], 'DOWN'), 20_000);
  status = 'SERVING';
  await eventually(async () => assert.equal((await serverStatus())[a], 'UP'), 20_000);
  assert.equal((await serverStatus())[b], 'DOWN');
});
