/**
 * The meshgate CLI end to end: `meshgate server --dev` started as its own process, then the client commands run as
 * separate processes against it, checking output and exit codes the way a consul CLI user would see them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, CONSUL_HTTP_ADDR: '', CONSUL_HTTP_TOKEN: '', MESHGATE_HTTP_TOKEN: '', ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

async function startServerProcess(): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'server', '-dev', '-http-addr', '127.0.0.1:0', '-node-name', 'cli-e2e', '-log-level', 'warn'], {
    env: { ...process.env, MESHGATE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 120 s:\n${out}`)), 120_000);
    const check = () => {
      const m = /==> Meshgate server running! HTTP API: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  return { child, url, output: () => out };
}

test('meshgate CLI against meshgate server', async (t) => {
  const server = await startServerProcess();
  t.after(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL'); });
  const env = { MESHGATE_HTTP_ADDR: server.url };

  await t.test('kv put / get / -detailed / -recurse / -keys / delete, with Consul messages and exit codes', async () => {
    assert.deepEqual(await run(['kv', 'put', 'app/config/port', '8080'], env), { code: 0, stdout: 'Success! Data written to: app/config/port\n', stderr: '' });
    assert.equal((await run(['kv', 'put', '-flags=42', 'app/config/name', 'web'], env)).code, 0);
    assert.deepEqual(await run(['kv', 'get', 'app/config/port'], env), { code: 0, stdout: '8080\n', stderr: '' });

    const missing = await run(['kv', 'get', 'app/nothing'], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error! No key exists at: app/nothing\n');

    const detailed = await run(['kv', 'get', '-detailed', 'app/config/name'], env);
    assert.equal(detailed.code, 0);
    assert.match(detailed.stdout, /^CreateIndex {6}\d+\nFlags {12}42\nKey {14}app\/config\/name\nLockIndex {8}0\nModifyIndex {6}\d+\nSession {10}-\nValue {12}web\n$/);
    const modifyIndex = /ModifyIndex\s+(\d+)/.exec(detailed.stdout)![1]!;

    assert.equal((await run(['kv', 'get', '-recurse', 'app/'], env)).stdout, 'app/config/name:web\napp/config/port:8080\n');
    assert.equal((await run(['kv', 'get', '-keys', 'app/'], env)).stdout, 'app/config/\n');
    assert.equal((await run(['kv', 'get', '-keys', '-separator=', 'app/'], env)).stdout, 'app/config/name\napp/config/port\n');
    assert.equal((await run(['kv', 'get', '-base64', 'app/config/name'], env)).stdout, `${Buffer.from('web').toString('base64')}\n`);

    const casFail = await run(['kv', 'put', '-cas', '-modify-index', String(Number(modifyIndex) + 1000), 'app/config/name', 'api'], env);
    assert.equal(casFail.code, 1);
    assert.equal(casFail.stderr, 'Error! Did not write to app/config/name: CAS failed\n');
    assert.equal((await run(['kv', 'put', '-cas', '-modify-index', modifyIndex, 'app/config/name', 'api'], env)).code, 0);
    assert.equal((await run(['kv', 'get', 'app/config/name'], env)).stdout, 'api\n');

    assert.equal((await run(['kv', 'put', 'stdin/key', '-'], env, 'from stdin')).code, 0);
    assert.equal((await run(['kv', 'get', 'stdin/key'], env)).stdout, 'from stdin\n');

    assert.deepEqual(await run(['kv', 'delete', 'stdin/key'], env), { code: 0, stdout: 'Success! Deleted key: stdin/key\n', stderr: '' });
    assert.deepEqual(await run(['kv', 'delete', '-recurse', 'app/'], env), { code: 0, stdout: 'Success! Deleted keys with prefix: app/\n', stderr: '' });
    assert.deepEqual(await run(['kv', 'get', '-recurse', 'app/'], env), { code: 0, stdout: '', stderr: '' });
  });

  await t.test('services register / deregister from a definition file, seen by catalog services and nodes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-cli-e2e-'));
    const file = join(dir, 'web.json');
    writeFileSync(file, JSON.stringify({
      services: [
        { name: 'web', id: 'web-1', port: 8080, tags: ['v1', 'primary'], check: { ttl: '30s', status: 'passing' } },
        { name: 'api', port: 9090, tags: ['internal'] },
      ],
    }));
    const reg = await run(['services', 'register', '--http-addr', server.url, file]);
    assert.deepEqual(reg, { code: 0, stdout: 'Registered service: web\nRegistered service: api\n', stderr: '' });

    const names = await run(['catalog', 'services'], env);
    assert.equal(names.code, 0);
    assert.deepEqual(names.stdout.trim().split('\n'), ['api', 'consul', 'web']);
    const tagged = await run(['catalog', 'services', '-tags'], env);
    assert.match(tagged.stdout, /^api {5}internal$/m);
    assert.match(tagged.stdout, /^web {5}primary,v1$/m);

    const nodes = await run(['catalog', 'nodes', '-service', 'web'], env);
    assert.equal(nodes.code, 0);
    const [header, row] = nodes.stdout.trim().split('\n');
    assert.match(header!, /^Node\s+ID\s+Address\s+DC$/);
    assert.match(row!, /^cli-e2e\s+[0-9a-f]{8}\s+127\.0\.0\.1\s+dc1$/);
    const detailed = await run(['catalog', 'nodes', '-detailed'], env);
    assert.match(detailed.stdout, /^Node\s+ID\s+Address\s+DC\s+TaggedAddresses\s+Meta$/m);
    assert.match(detailed.stdout, /^cli-e2e\s+[0-9a-f-]{36}\s+127\.0\.0\.1\s+dc1\s+/m);

    assert.deepEqual(await run(['services', 'deregister', file], env), { code: 0, stdout: 'Deregistered service: web-1\nDeregistered service: api\n', stderr: '' });
    assert.deepEqual((await run(['catalog', 'services'], env)).stdout.trim().split('\n'), ['consul']);
  });

  await t.test('server stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => server.child.on('exit', (code) => resolve(code)));
    server.child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(server.output(), /Caught signal: SIGTERM/);
  });
});

test('meshgate server refuses to start without -data-dir or -dev', async () => {
  const res = await run(['server', '-http-addr', '127.0.0.1:0']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /data-dir/);
});
