/**
 * A bounded fuzz-style sweep against a real `meshgate gateway` process (issue 14): batches of raw requests with random
 * request targets (origin, absolute, authority and asterisk forms), headers (duplicates, prototype names, oversize,
 * conflicting framing), bodies and pipelining, plus random regex-bearing hosts and paths. After every batch a normal
 * request must be routed correctly within 100 ms, and the gateway's configuration (its `/api/rawdata`) and the
 * upstream's view of a normal request must be exactly as before.
 *
 * Reproduce a run with MESHGATE_FUZZ_SEED=<seed printed below>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createRandom, encodeLoosely, seedFromEnvironment, type Random } from './random.ts';
import { answersPromptly, rawExchange } from './wire.ts';
import { get, startUpstream, staticYaml, tempDir, type Upstream } from '../gateway/helpers.ts';
import { REPO_ROOT } from '../helpers/server.ts';

const BATCHES = 8;
const REQUESTS_PER_BATCH = 50;
const PARALLEL = 10;

const random: Random = createRandom(seedFromEnvironment());
let upstream: Upstream;
let gateway: ChildProcess;
let webPort: number;
let adminPort: number;

const dynamicConfig = (up: Upstream) => `
http:
  routers:
    api:
      rule: Host(\`api.test\`) && PathPrefix(\`/api\`)
      service: echo
      middlewares: [strip, tagged]
    regex:
      rule: HostRegexp(\`^(a+)+\\.test$\`) || PathRegexp(\`^/re/(a+)+$\`) || HeaderRegexp(\`X-Probe\`, \`^(a|aa)+$\`)
      service: echo
    rewrite:
      rule: PathPrefix(\`/rewrite\`)
      service: echo
      middlewares: [rewrite]
    fallback:
      rule: PathPrefix(\`/\`)
      priority: 1
      service: echo
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/api"]
    tagged:
      headers:
        customRequestHeaders:
          X-Sweep: "yes"
    rewrite:
      replacePathRegex:
        regex: "^/rewrite/(a+)+(.*)$"
        replacement: "/rewritten/$2"
  services:
    echo:
      loadBalancer:
        servers:
          - url: "${up.url}"
`;

before(async () => {
  upstream = await startUpstream('echo');
  const dir = await tempDir('mg-sweep-');
  await writeFile(join(dir, 'dynamic.yml'), dynamicConfig(upstream));
  await writeFile(join(dir, 'gateway.yml'), staticYaml(join(dir, 'dynamic.yml')));
  gateway = spawn(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'gateway', '--config', join(dir, 'gateway.yml'), '--workers', '1'], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MESHGATE_LOG_LEVEL: 'error', MESHGATE_LOG_FORMAT: 'json' },
  });
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start within 120 s')), 120_000);
    createInterface({ input: gateway.stdout! }).on('line', (line) => {
      // "==> Meshgate gateway running! Entry points: web=127.0.0.1:PORT, traefik=127.0.0.1:PORT"
      const m = /Entry points: (.*)$/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      resolve(Object.fromEntries(m[1]!.split(', ').map((e) => [e.split('=')[0]!, Number(e.slice(e.lastIndexOf(':') + 1))])));
    });
    gateway.once('exit', () => reject(new Error('gateway exited before it was ready')));
  });
  webPort = ports.web!;
  adminPort = ports.traefik!;
});

after(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((r) => gateway.once('exit', r));
    gateway.kill('SIGTERM');
    await exited;
  }
  await upstream?.close();
});

async function normalRequest(): Promise<{ status: number; url: string; sweep: string | undefined }> {
  const res = await get(`http://127.0.0.1:${webPort}/api/normal?x=1`, { host: 'api.test' });
  const body = res.json() as { url: string; headers: Record<string, string> };
  return { status: res.status, url: body.url, sweep: body.headers['x-sweep'] };
}

async function rawData(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/api/rawdata`, { signal: AbortSignal.timeout(2_000) });
  const data = (await res.json()) as Record<string, unknown>;
  // Request counters and health flags move with traffic; the configuration itself must not.
  return JSON.stringify({ routers: data.routers, middlewares: data.middlewares, services: Object.keys((data.services ?? {}) as object) });
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'G\u0000T', 'get', ''];
const HOSTS = ['api.test', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!.test', 'AAA.test', 'api.test:80', '[::1]', '', 'a'.repeat(300), 'api.test.', '*'];

function target(r: Random): string {
  const path = r.pick(['/api', '/api/x', '/re/', '/rewrite/', '/', '/..', '/%2e%2e/', '/%00', '//api']) + (r.chance(0.5) ? `${'a'.repeat(r.int(0, 40))}!` : encodeLoosely(r.nastyString(40)));
  switch (r.int(0, 4)) {
    case 0: return `http://${r.pick(HOSTS)}${path}`; // absolute form: the URI's authority wins (RFC 9112 §3.2.2)
    case 1: return r.pick(['*', 'api.test:443', 'http://', 'http://api.test', '%', `/${'x'.repeat(r.int(1, 70_000))}`]);
    default: return path;
  }
}

function headerLines(r: Random): string {
  const lines: string[] = [];
  if (r.chance(0.9)) lines.push(`Host: ${r.pick(HOSTS)}`);
  if (r.chance(0.15)) lines.push(`Host: ${r.pick(HOSTS)}`);
  for (let i = r.int(0, 6); i > 0; i--) {
    const name = r.pick(['constructor', '__proto__', 'X-Probe', 'X-Forwarded-For', 'X-Real-Ip', 'Connection', 'Upgrade', 'TE', 'Expect', 'Accept-Encoding',
      'Transfer-Encoding', 'Content-Length', 'Cookie', 'X-Forwarded-Host', 'Forwarded', `X-${r.int(0, 9)}`, 'Bad Name', 'Héader']);
    const value = name === 'X-Probe' ? `${'a'.repeat(r.int(1, 40))}!` : name === 'Content-Length' ? r.pick(['0', '5', '-1', '1e3', '99999999999999999999', '5, 6'])
      : name === 'Transfer-Encoding' ? r.pick(['chunked', 'gzip, chunked', 'chunked, gzip', 'identity', 'xchunked', ' chunked'])
      : r.nastyString(100).replace(/[\r\n]/g, r.chance(0.1) ? '\r\n' : ' ');
    lines.push(`${name}: ${value}`);
  }
  if (r.chance(0.02)) lines.push(`X-Big: ${'b'.repeat(r.int(10_000, 120_000))}`);
  return lines.map((l) => `${l}\r\n`).join('');
}

function request(r: Random): string | Buffer {
  if (r.chance(0.05)) return r.bytes(2_000);
  const version = r.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 extra', 'http/1.1', 'HTTP/9']);
  const body = r.chance(0.3) ? r.nastyString(300) : '';
  const framing = r.chance(0.5) ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : r.chance(0.5) ? `Transfer-Encoding: chunked\r\n` : '';
  const encodedBody = framing.startsWith('Transfer') ? `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n` : body;
  const one = `${r.pick(METHODS)} ${target(r)} ${version}\r\n${headerLines(r)}${framing}\r\n${encodedBody}`;
  // Pipelining: a second request behind the first on the same connection.
  return r.chance(0.15) ? `${one}GET /api/p HTTP/1.1\r\nHost: api.test\r\n\r\n` : one;
}

test(`gateway survives ${BATCHES} batches of ${REQUESTS_PER_BATCH} random requests; normal requests routed within 100 ms; configuration unchanged (seed ${random.seed})`, async () => {
  const config = await rawData();
  const expected = { status: 200, url: '/normal?x=1', sweep: 'yes' };
  assert.deepEqual(await normalRequest(), expected);
  for (let batch = 0; batch < BATCHES; batch++) {
    const payloads = Array.from({ length: REQUESTS_PER_BATCH }, () => request(random));
    for (let i = 0; i < payloads.length; i += PARALLEL) {
      const answers = await Promise.all(payloads.slice(i, i + PARALLEL).map((p) => rawExchange(webPort, p, 1_000)));
      for (const [j, answer] of answers.entries()) {
        // The gateway never answers 5xx of its own making for client input: the upstream is healthy and echoes.
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.toString('latin1'))?.[1];
        assert.ok(status === undefined || !status.startsWith('5') || status === '502',
          `status ${status} for ${JSON.stringify(String(payloads[i + j]).slice(0, 300))}`);
      }
    }
    assert.equal(gateway.exitCode, null, `gateway exited during batch ${batch}`);
    await answersPromptly(normalRequest, (r) => assert.deepEqual(r, expected));
    assert.equal(await rawData(), config, `configuration changed in batch ${batch}`);
  }
});
