import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { isMeshgateError } from '../errors.ts';
import { waitFor } from '../testing/wait-for.ts';
import { recordingRunner, sleep } from './test-helpers.ts';

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('TCP checks', () => {
  it('passes while the listener accepts and turns critical when it closes', async () => {
    const server = createServer((s) => s.end());
    const port = await listen(server);
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 'db', TCP: `127.0.0.1:${port}`, Interval: 30 });
      const up = await waitFor(() => rec.last('db')?.status === 'passing' && rec.last('db'), 'passing');
      assert.equal(up.output, `TCP connect 127.0.0.1:${port}: Success`);

      await new Promise<void>((r) => server.close(() => r()));
      const down = await waitFor(() => rec.last('db')?.status === 'critical' && rec.last('db'), 'critical');
      assert.equal(down.output, `dial tcp 127.0.0.1:${port}: connect: connection refused`);

      const again = createServer((s) => s.end());
      await listen(again, port);
      await waitFor(() => rec.last('db')?.status === 'passing', 'passing again');
      await new Promise<void>((r) => again.close(() => r()));
      assert.deepEqual(rec.updates.map((u) => u.status), ['passing', 'critical', 'passing']);
    } finally {
      await rec.runner.stop();
    }
  });
});

describe('TTL checks', () => {
  it('changes only through updateTTL and expires to critical with Consul\'s output', async () => {
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 'ttl', TTL: 150 });
      assert.deepEqual(rec.runner.state('ttl'), { status: 'critical', output: '' });

      assert.equal(rec.runner.updateTTL('ttl', 'passing', 'all good'), 'all good');
      assert.deepEqual(rec.last('ttl'), { checkId: 'ttl', status: 'passing', output: 'all good' });

      // Keep it alive past several TTLs by updating within each.
      for (let i = 0; i < 4; i++) {
        await sleep(50);
        rec.runner.updateTTL('ttl', 'passing', 'all good');
      }
      assert.equal(rec.updates.length, 1, 'repeating the same status and output is not a change');

      rec.runner.updateTTL('ttl', 'warning', 'degraded');
      const expired = await waitFor(() => rec.last('ttl')?.status === 'critical' && rec.last('ttl'), 'expiry');
      assert.equal(expired.output, 'TTL expired (last output before timeout follows): degraded');
      assert.deepEqual(rec.updates.map((u) => u.status), ['passing', 'warning', 'critical']);
    } finally {
      await rec.runner.stop();
    }
  });

  it('says just "TTL expired" when no output was ever given', async () => {
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 't2', TTL: 50, Status: 'passing' });
      const u = await waitFor(() => rec.last('t2'), 'expiry');
      assert.deepEqual(u, { checkId: 't2', status: 'critical', output: 'TTL expired' });
    } finally {
      await rec.runner.stop();
    }
  });

  it('truncates long output with Consul\'s note', async () => {
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 't3', TTL: 60_000 });
      const stored = rec.runner.updateTTL('t3', 'passing', 'x'.repeat(5000));
      assert.equal(stored, `${'x'.repeat(4096)} ... (captured 4096 of 5000 bytes)`);
      assert.equal(rec.last('t3')!.output, stored);
    } finally {
      await rec.runner.stop();
    }
  });

  it('refuses unknown and non-TTL checks with a 404 and a bad status with a 400', async () => {
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 'tcp', TCP: '127.0.0.1:1', Interval: 60_000 });
      rec.runner.add({ CheckID: 'ttl', TTL: 60_000 });
      for (const id of ['nope', 'tcp']) {
        assert.throws(
          () => rec.runner.updateTTL(id, 'passing', ''),
          (err) => isMeshgateError(err, 'MG_CHECK_NO_TTL') && err.statusCode === 404 && err.message === `CheckID "${id}" does not have associated TTL`,
        );
      }
      assert.throws(
        () => rec.runner.updateTTL('ttl', 'maintenance' as 'passing', ''),
        (err) => isMeshgateError(err, 'MG_CHECK_BAD_STATUS') && err.statusCode === 400,
      );
    } finally {
      await rec.runner.stop();
    }
  });
});

describe('onRun', () => {
  it('sees every execution with its kind and raw status, while onUpdate sees only changes', async () => {
    const server = createServer((s) => s.end());
    const port = await listen(server);
    const runs: Array<{ checkId: string; kind: string; status: string }> = [];
    const rec = recordingRunner({ onRun: (checkId, kind, status) => runs.push({ checkId, kind, status }) });
    try {
      rec.runner.add({ CheckID: 'db', TCP: `127.0.0.1:${port}`, Interval: 20 });
      await waitFor(() => runs.length >= 4, 'several runs');
      assert.ok(runs.every((r) => r.checkId === 'db' && r.kind === 'tcp' && r.status === 'passing'));
      assert.deepEqual(rec.updates.map((u) => u.status), ['passing'], 'repeated passing runs are one update');
    } finally {
      await rec.runner.stop();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
