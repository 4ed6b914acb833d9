/**
 * ACME with node:cluster workers (`meshgate gateway --workers 2`, the CLI as deployed): the primary orders, the
 * workers hold the entry points, so the CA's HTTP-01 and TLS-ALPN-01 validations reach a worker, which answers from
 * the challenge snapshot the primary sends over IPC — as Traefik answers on its entry points (challenge_http.go,
 * challenge_tls.go). Checked against Debian's pebble on loopback with a TLS client trusting only pebble's root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from '../helpers/server.ts';
import { certificateServed, pebbleInstalled, startPebble, type Pebble } from '../helpers/pebble.ts';
import { startUpstream, tempDir, type Upstream } from './helpers.ts';

const skip = pebbleInstalled() ? false : 'pebble is not installed (scripts/install-test-deps.sh)';

describe('ACME with cluster workers', { skip, timeout: 120_000 }, () => {
  let pebble: Pebble;
  let upstream: Upstream;
  let child: ChildProcess | undefined;
  let tlsPort: number;
  let root: string;
  let started: Promise<void>;

  before(async () => {
    const dir = await tempDir('mg-acme-cluster-');
    const httpPort = await freePort();
    tlsPort = await freePort();
    pebble = await startPebble(dir, { httpPort, tlsPort });
    root = await pebble.rootPem();
    upstream = await startUpstream('app');
    const resolver = (challenge: string) => `
    acme:
      caServer: "${pebble.directory}"
      caCertificates: ["${pebble.listenerCaFile}"]
      storage: "${join(dir, 'acme.json')}"
      keyType: EC256
      ${challenge}`;
    writeFileSync(join(dir, 'static.yml'), `entryPoints:
  web:
    address: "127.0.0.1:${httpPort}"
  websecure:
    address: "127.0.0.1:${tlsPort}"
providers:
  providersThrottleDuration: 20ms
  file:
    filename: "${join(dir, 'dynamic.yml')}"
certificatesResolvers:
  http:${resolver('httpChallenge: { entryPoint: web }')}
  alpn:${resolver('tlsChallenge: {}')}
`);
    writeFileSync(join(dir, 'dynamic.yml'), `http:
  routers:
    one:
      rule: "Host(\`one.example.test\`)"
      entryPoints: [websecure]
      service: app
      tls: { certResolver: http }
    two:
      rule: "Host(\`two.example.test\`)"
      entryPoints: [websecure]
      service: app
      tls: { certResolver: alpn }
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
`);
    child = spawn(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'gateway', '--config', join(dir, 'static.yml'), '--workers', '2'], {
      stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MESHGATE_LOG_LEVEL: 'info', MESHGATE_LOG_FORMAT: 'json' },
    });
    const proc = child;
    // Orders start once the first worker listens ("gateway started"); a loaded machine may take a while to fork.
    started = new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        if (process.env.ACME_DEBUG) process.stderr.write(`${line}\n`);
        if (line.includes('"msg":"gateway started"')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`gateway exited (${code}) before it started`)));
    });
  });

  after(async () => {
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child!.once('exit', () => resolve());
        child!.kill('SIGTERM');
        setTimeout(() => child!.kill('SIGKILL'), 10_000).unref();
      });
    }
    await upstream?.close();
    await pebble?.stop();
  });

  it('workers answer HTTP-01 and TLS-ALPN-01 for the primary, and serve both certificates', async () => {
    await started;
    const one = await certificateServed(tlsPort, 'one.example.test', root);
    const two = await certificateServed(tlsPort, 'two.example.test', root);
    assert.match(one.subjectaltname ?? '', /DNS:one\.example\.test/);
    assert.match(two.subjectaltname ?? '', /DNS:two\.example\.test/);
    assert.equal(pebble.orders(), 2);
  });
});
