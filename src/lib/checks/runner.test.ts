import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isMeshgateError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { StatusHandler } from './status-handler.ts';
import { waitFor } from '../testing/wait-for.ts';
import { recordingRunner, sleep } from './test-helpers.ts';
import type { CheckStatus } from './types.ts';

/** An HTTP target whose status code is switched by the test. */
async function switchable(): Promise<{ url: string; set(code: number, body?: string): void; server: Server; close(): Promise<void> }> {
  let code = 200;
  let body = 'ok';
  const server = createServer((_req, res) => {
    res.writeHead(code);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    server,
    set(c, b = body) {
      code = c;
      body = b;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('StatusHandler (Consul thresholds)', () => {
  const run = (h: StatusHandler, results: CheckStatus[]): Array<CheckStatus | '-'> =>
    results.map((status) => h.next({ status, output: status })?.status ?? '-');

  it('reports the first result immediately, then needs consecutive results to flip', () => {
    const h = new StatusHandler({ SuccessBeforePassing: 2, FailuresBeforeCritical: 3 });
    assert.deepEqual(
      run(h, ['critical', 'passing', 'passing', 'critical', 'critical', 'critical', 'passing', 'critical', 'passing', 'passing']),
      ['critical', '-', 'passing', '-', '-', 'critical', '-', '-', '-', 'passing'],
    );
  });

  it('reports warning between FailuresBeforeWarning and FailuresBeforeCritical', () => {
    const h = new StatusHandler({ FailuresBeforeWarning: 1, FailuresBeforeCritical: 3 });
    assert.deepEqual(run(h, ['passing', 'critical', 'critical', 'critical', 'critical']), ['passing', 'warning', 'warning', 'critical', 'critical']);
  });

  it('counts warning results as successes', () => {
    const h = new StatusHandler({ SuccessBeforePassing: 2, FailuresBeforeCritical: 1 });
    assert.deepEqual(run(h, ['critical', 'warning', 'warning']), ['critical', '-', 'warning']);
  });
});

describe('CheckRunner', () => {
  it('applies FailuresBeforeCritical and SuccessBeforePassing to a real HTTP target', async () => {
    const t = await switchable();
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 'web', HTTP: t.url, Interval: 20, FailuresBeforeWarning: 2, FailuresBeforeCritical: 4, SuccessBeforePassing: 3 });
      await waitFor(() => rec.last('web')?.status === 'passing', 'passing');
      t.set(500);
      await waitFor(() => rec.last('web')?.status === 'critical', 'critical');
      t.set(200);
      await waitFor(() => rec.last('web')?.status === 'passing', 'passing again');
      // passing → warning (after 2 failures) → critical (after 4) → passing (after 3 successes); nothing in between.
      assert.deepEqual(rec.updates.map((u) => u.status), ['passing', 'warning', 'critical', 'passing']);
    } finally {
      await rec.runner.stop();
      await t.close();
    }
  });

  it('reports output-only changes at once when checkUpdateInterval is 0', async () => {
    const rec = recordingRunner({ checkUpdateInterval: 0 });
    try {
      rec.runner.add({ CheckID: 't', TTL: 60_000 });
      rec.runner.updateTTL('t', 'passing', 'one');
      rec.runner.updateTTL('t', 'passing', 'one');
      rec.runner.updateTTL('t', 'passing', 'two');
      assert.deepEqual(rec.updates.map((u) => u.output), ['one', 'two']);
    } finally {
      await rec.runner.stop();
    }
  });

  it('defers output-only changes by checkUpdateInterval but reports status changes at once', async () => {
    const rec = recordingRunner({ checkUpdateInterval: 200 });
    try {
      rec.runner.add({ CheckID: 't', TTL: 60_000 });
      rec.runner.updateTTL('t', 'passing', 'one');
      rec.runner.updateTTL('t', 'passing', 'two');
      rec.runner.updateTTL('t', 'passing', 'three');
      assert.deepEqual(rec.updates.map((u) => u.output), ['one'], 'output-only changes wait');
      assert.deepEqual(rec.runner.state('t'), { status: 'passing', output: 'three' });
      await waitFor(() => rec.updates.length === 2, 'deferred output');
      assert.deepEqual(rec.updates[1], { checkId: 't', status: 'passing', output: 'three' });

      rec.runner.updateTTL('t', 'passing', 'four');
      rec.runner.updateTTL('t', 'critical', 'down');
      assert.deepEqual(rec.updates.at(-1), { checkId: 't', status: 'critical', output: 'down' }, 'a status change goes out at once');
      await sleep(400);
      assert.equal(rec.updates.length, 3, 'the pending deferral does not repeat what was already reported');
    } finally {
      await rec.runner.stop();
    }
  });

  it('calls onCriticalTooLong once a check has been critical longer than DeregisterCriticalServiceAfter', async () => {
    const rec = recordingRunner({ reapInterval: 20 });
    try {
      rec.runner.add({ CheckID: 'svc:ttl', ServiceID: 'svc', TTL: 30, Status: 'passing', DeregisterCriticalServiceAfter: 100 });
      rec.runner.add({ CheckID: 'other', ServiceID: 'other', TTL: 60_000, Status: 'passing', DeregisterCriticalServiceAfter: 100 });
      const reap = await waitFor(() => rec.reaps[0], 'reap');
      assert.deepEqual(reap, { serviceId: 'svc', checkId: 'svc:ttl' });
      assert.equal(rec.last('svc:ttl')!.status, 'critical');
      await sleep(150);
      assert.equal(rec.reaps.length, 1, 'once per critical episode, and never for the passing service');
    } finally {
      await rec.runner.stop();
    }
  });

  it('does not reap a check that recovers before the deadline, and raises the deadline to the minimum', async () => {
    const rec = recordingRunner({ reapInterval: 20, deregisterCriticalServiceAfterMin: 300 });
    try {
      rec.runner.add({ CheckID: 'c', ServiceID: 'svc', TTL: 60_000, DeregisterCriticalServiceAfter: 1 });
      rec.runner.updateTTL('c', 'critical', 'down');
      await sleep(100);
      assert.equal(rec.reaps.length, 0, 'the 1ms deadline was raised to the 300ms minimum');
      rec.runner.updateTTL('c', 'passing', 'up');
      await sleep(350);
      assert.equal(rec.reaps.length, 0, 'recovery resets the critical clock');
      rec.runner.updateTTL('c', 'critical', 'down again');
      await waitFor(() => rec.reaps.length === 1, 'reap after the minimum');
    } finally {
      await rec.runner.stop();
    }
  });

  it('keeps the current status when a check is replaced and stops the old one', async () => {
    const t = await switchable();
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 'x', TTL: 60_000 });
      rec.runner.updateTTL('x', 'passing', 'fine');
      rec.runner.add({ CheckID: 'x', HTTP: t.url, Interval: 20 });
      assert.deepEqual(rec.runner.state('x'), { status: 'passing', output: 'fine' });
      assert.throws(() => rec.runner.updateTTL('x', 'passing', ''), (err) => isMeshgateError(err, 'MG_CHECK_NO_TTL'));
      await waitFor(() => rec.last('x')?.output.startsWith('HTTP GET'), 'HTTP result');
      assert.ok(rec.updates.every((u) => u.status === 'passing'), 'replacement did not flap through the initial critical');

      rec.runner.remove('x');
      const count = rec.updates.length;
      t.set(500);
      await sleep(100);
      assert.equal(rec.updates.length, count, 'a removed check reports nothing');
      assert.equal(rec.runner.state('x'), undefined);
    } finally {
      await rec.runner.stop();
      await t.close();
    }
  });

  it('refuses script checks unless enableScriptChecks, then runs them Nagios-style', async () => {
    const off = recordingRunner();
    assert.throws(
      () => off.runner.add({ CheckID: 's', Args: ['true'], Interval: 50 }),
      (err) => isMeshgateError(err, 'MG_CHECK_SCRIPTS_DISABLED') && err.statusCode === 400 && /enable_script_checks/.test(err.message),
    );
    await off.runner.stop();

    const on = recordingRunner({ enableScriptChecks: true });
    try {
      on.runner.add({ CheckID: 'ok', Args: ['sh', '-c', 'echo fine'], Interval: 50 });
      on.runner.add({ CheckID: 'warn', Args: ['sh', '-c', 'echo meh; exit 1'], Interval: 50 });
      on.runner.add({ CheckID: 'bad', Args: ['sh', '-c', 'echo bad >&2; exit 2'], Interval: 50, Status: 'passing' });
      on.runner.add({ CheckID: 'slow', Args: ['sleep', '5'], Interval: 50, Timeout: 100, Status: 'passing' });
      assert.deepEqual(await waitFor(() => on.last('ok'), 'ok'), { checkId: 'ok', status: 'passing', output: 'fine\n' });
      assert.deepEqual(await waitFor(() => on.last('warn'), 'warn'), { checkId: 'warn', status: 'warning', output: 'meh\n' });
      assert.deepEqual(await waitFor(() => on.last('bad'), 'bad'), { checkId: 'bad', status: 'critical', output: 'bad\n' });
      assert.deepEqual(await waitFor(() => on.last('slow'), 'slow'), { checkId: 'slow', status: 'critical', output: 'Timed out (100ms) running check' });
    } finally {
      await on.runner.stop();
    }
  });

  it('warns and raises an interval below the minimum', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    // Probe starts, timed: with the interval raised to 150 ms no two runs may start closer than that, while the
    // 10 ms asked for would give gaps of about 10 ms (Node never fires a timer early, so the bound is exact).
    const starts: number[] = [];
    const rec = recordingRunner({
      minInterval: 150,
      logger: createLogger({ name: 'test', level: 'warn', destination }),
      onRun: () => starts.push(performance.now()),
    });
    try {
      rec.runner.add({ CheckID: 'fast', TCP: '127.0.0.1:1', Interval: 10 });
      await waitFor(() => starts.length >= 4, 'four runs');
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      assert.ok(gaps.every((g) => g >= 149), `runs closer than the 150 ms minimum: ${gaps.map((g) => g.toFixed(1)).join(', ')} ms`);
      assert.ok(lines.some((l) => l.includes('check has interval below minimum')), 'no warning logged');
    } finally {
      await rec.runner.stop();
    }
  });

  it('waits out an Interval longer than Node\'s timer range instead of probing every millisecond', async () => {
    // 600000h (68 years) is a valid Go time.Duration; the first run is staggered randomly within one interval,
    // so a setTimeout clamped to 1 ms (Node's behaviour past 2^31-1 ms) would start probing at once.
    let runs = 0;
    const rec = recordingRunner({ onRun: () => runs++ });
    try {
      rec.runner.add({ CheckID: 'slow', TCP: '127.0.0.1:1', Interval: 600_000 * 3_600_000 });
      await sleep(300);
      assert.equal(runs, 0, `${runs} probes in 300 ms`);
    } finally {
      await rec.runner.stop();
    }
  });

  it('keeps a TTL check with a 720h TTL passing instead of expiring it at once', async () => {
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 'ttl', TTL: 720 * 3_600_000, Status: 'passing' });
      rec.runner.updateTTL('ttl', 'passing', 'alive');
      await sleep(300);
      assert.deepEqual(rec.runner.state('ttl'), { status: 'passing', output: 'alive' });
    } finally {
      await rec.runner.stop();
    }
  });

  it('refuses durations beyond Go\'s time.Duration (2^63-1 ns), which Consul cannot decode', async () => {
    const rec = recordingRunner();
    try {
      for (const field of ['Interval', 'TTL', 'Timeout', 'DeregisterCriticalServiceAfter'] as const) {
        const def = field === 'TTL' ? { CheckID: 'x', TTL: 1e13 } : { CheckID: 'x', TCP: '127.0.0.1:1', Interval: 1000, [field]: 1e13 };
        assert.throws(() => rec.runner.add(def), (err) => isMeshgateError(err, 'MG_CHECK_INVALID') && err.message.includes(field), field);
      }
    } finally {
      await rec.runner.stop();
    }
  });

  it('refuses invalid definitions and anything after stop()', async () => {
    const rec = recordingRunner();
    assert.throws(() => rec.runner.add({ CheckID: 'h', HTTP: 'http://x' }), (err) => isMeshgateError(err, 'MG_CHECK_INVALID'));
    await rec.runner.stop();
    assert.throws(() => rec.runner.add({ CheckID: 't', TTL: 10 }), (err) => isMeshgateError(err, 'MG_CHECK_RUNNER_STOPPED'));
  });

  it('lets the process exit promptly after stop(), with checks mid-run', async () => {
    const runnerUrl = new URL('./runner.ts', import.meta.url).href;
    const script = `
      import { createServer } from 'node:net';
      const { CheckRunner } = await import(${JSON.stringify(runnerUrl)});
      const accepted = [];
      const hang = createServer((s) => accepted.push(s)); // accepts and never answers: HTTP and gRPC runs stay in flight
      await new Promise((r) => hang.listen(0, '127.0.0.1', r));
      const port = hang.address().port;
      const runner = new CheckRunner({ minInterval: 1, onUpdate() {}, onCriticalTooLong() {} });
      runner.add({ CheckID: 'h', HTTP: 'http://127.0.0.1:' + port + '/', Interval: 5, ServiceID: 's', DeregisterCriticalServiceAfter: 600000 });
      runner.add({ CheckID: 'g', GRPC: '127.0.0.1:' + port, Interval: 5 });
      runner.add({ CheckID: 't', TTL: 600000 });
      runner.add({ CheckID: 'c', TCP: '127.0.0.1:' + port, Interval: 5 });
      await new Promise((r) => setTimeout(r, 100));
      await runner.stop();
      hang.close();
      for (const s of accepted) s.destroy(); // the test's own server side; the runner's sockets are unref'd or closed
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('.', import.meta.url)) });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 8_000);
      child.once('exit', (c) => {
        clearTimeout(killer);
        resolve(c);
      });
    });
    assert.equal(out.trim(), 'stopped');
    assert.equal(code, 0, 'the child exited by itself (it is killed only if something kept it alive)');
  });
});
