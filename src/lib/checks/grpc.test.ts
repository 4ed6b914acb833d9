import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { describe, it } from 'node:test';
import { healthService, type HealthCheckRequest, type HealthCheckResponse, type ServingStatus } from './probes/grpc-health.ts';
import { waitFor } from '../testing/wait-for.ts';
import { recordingRunner } from './test-helpers.ts';

/** A real grpc-js server implementing grpc.health.v1 with a mutable status per service name. */
async function healthServer(statuses: Map<string, ServingStatus>): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(healthService, {
    Check: (call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, cb: grpc.sendUnaryData<HealthCheckResponse>) => {
      const status = statuses.get(call.request.service);
      if (!status) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, { status });
    },
    Watch: (call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => call.end(),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

describe('gRPC checks', () => {
  it('follows SERVING / NOT_SERVING of the whole server and of a named service, and a stopped server', async () => {
    const statuses = new Map<string, ServingStatus>([['', 'SERVING'], ['orders', 'NOT_SERVING']]);
    const { server, port } = await healthServer(statuses);
    const rec = recordingRunner();
    const whole = `127.0.0.1:${port}`;
    const orders = `127.0.0.1:${port}/orders`;
    try {
      rec.runner.add({ CheckID: 'whole', GRPC: whole, Interval: 30 });
      rec.runner.add({ CheckID: 'orders', GRPC: orders, Interval: 30, Status: 'passing' });
      rec.runner.add({ CheckID: 'missing', GRPC: `127.0.0.1:${port}/missing`, Interval: 30, Status: 'passing' });

      assert.deepEqual(await waitFor(() => rec.last('whole'), 'whole'), { checkId: 'whole', status: 'passing', output: `gRPC check ${whole}: success` });
      assert.deepEqual(await waitFor(() => rec.last('orders'), 'orders'), {
        checkId: 'orders', status: 'critical', output: `gRPC ${orders} serving status: NOT_SERVING`,
      });
      assert.deepEqual(await waitFor(() => rec.last('missing'), 'missing'), {
        checkId: 'missing', status: 'critical', output: 'rpc error: code = NotFound desc = unknown service',
      });

      statuses.set('orders', 'SERVING');
      await waitFor(() => rec.last('orders')?.status === 'passing', 'orders passing');
      statuses.set('', 'NOT_SERVING');
      await waitFor(() => rec.last('whole')?.status === 'critical', 'whole critical');
      statuses.set('', 'SERVING');
      await waitFor(() => rec.last('whole')?.status === 'passing', 'whole passing again');

      server.forceShutdown();
      // A run in flight at the shutdown may end Canceled (the server reset its stream); the runs after it find
      // nothing listening, which is Unavailable.
      const down = await waitFor(() => {
        const last = rec.last('orders');
        return last?.status === 'critical' && /code = Unavailable/.test(last.output) && last;
      }, 'server down');
      assert.match(down.output, /^rpc error: code = Unavailable desc = /);
    } finally {
      server.forceShutdown();
      await rec.runner.stop();
    }
  });
});
