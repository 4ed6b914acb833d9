/**
 * UDP routing through the gateway against real peers, with Traefik's behaviour:
 * - an entry point address ending in `/udp` is a UDP listener (Traefik's GetProtocol and
 *   pkg/server/server_entrypoint_udp.go), checked with Debian's `dig` asking meshgate server's DNS through it;
 * - sessions per client address (pkg/udp Listener.getConn): one client's datagrams reach one server over one
 *   socket; a session idle for the entry point's `udp.timeout` is released (Conn.readLoop), so the next datagram
 *   opens a new one;
 * - `loadBalancer` and `weighted` services spread sessions by weight (pkg/udp WRRLoadBalancer, chosen per session);
 * - the API lists UDP routers and services with status and errors (pkg/api handler_udp.go).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { freePort } from '../helpers/server.ts';
import { fileProviderYaml, startGateway, tempDir, eventually, writeAtomic } from './helpers.ts';

const run = promisify(execFile);

let dir: string;
let server: RunningServer;
let gw: Awaited<ReturnType<typeof startGateway>>;
const sockets: dgram.Socket[] = [];

interface EchoServer {
  readonly port: number;
  /** Source ports of the gateway sockets that sent to this server, in arrival order. */
  readonly from: number[];
}

/** A UDP server that answers `<name>:<datagram>` to whoever sent it. */
async function echoServer(name: string): Promise<EchoServer> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  const from: number[] = [];
  socket.on('message', (msg, rinfo) => {
    from.push(rinfo.port);
    socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, from };
}

/** A client socket of its own (one session at the gateway): `ask` sends one datagram and waits for one answer. */
async function client(): Promise<{ ask(text: string, port: number): Promise<string>; close(): void }> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    ask(text, port) {
      return new Promise<string>((resolve, reject) => {
        // Generous: a lost answer fails the call (and `eventually` retries it), it never hangs the test.
        const timer = setTimeout(() => { socket.off('message', on); reject(new Error(`no answer to ${text}`)); }, 5_000);
        const on = (msg: Buffer) => { clearTimeout(timer); resolve(msg.toString()); };
        socket.once('message', on);
        socket.send(text, port, '127.0.0.1');
      });
    },
    close() {
      socket.close();
    },
  };
}

let a: EchoServer;
let b: EchoServer;
let c: EchoServer;

function port(name: string): number {
  return gw.addresses()[name]!.port;
}

function dynamic(echoService: string): string {
  return `
udp:
  routers:
    dns:
      entryPoints: [dns]
      service: consul-dns
    echo:
      entryPoints: [echo]
      service: ${echoService}
    spread:
      entryPoints: [spread]
      service: three-to-one
    nowhere:
      entryPoints: [web, missing]
      service: echo-a
    broken:
      entryPoints: [broken]
      service: does-not-exist
  services:
    consul-dns:
      loadBalancer:
        servers:
          - address: "127.0.0.1:${server.dnsPort}"
    echo-a:
      loadBalancer:
        servers:
          - address: "127.0.0.1:${a.port}"
    echo-c:
      loadBalancer:
        servers:
          - address: "127.0.0.1:${c.port}"
    three-to-one:
      weighted:
        services:
          - name: echo-a
            weight: 3
          - name: pair
            weight: 1
    pair:
      loadBalancer:
        servers:
          - address: "127.0.0.1:${b.port}"
            weight: 1
          - address: "127.0.0.1:${c.port}"
            weight: 0
`;
}

before(async () => {
  dir = await tempDir('mg-udp-');
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', ports: { dns: await freePort() } }, silentLogger());
  const res = await fetch(`${server.url}/v1/catalog/register`, {
    method: 'PUT',
    body: JSON.stringify({ Node: 'db-node', Address: '10.9.0.7', Service: { ID: 'db-1', Service: 'db', Port: 5432 } }),
  });
  assert.equal(res.status, 200);
  a = await echoServer('a');
  b = await echoServer('b');
  c = await echoServer('c');
  await writeFile(join(dir, 'dynamic.yml'), dynamic('echo-a'));
  const ep = (name: string, extra = '') => `  ${name}:\n    address: "127.0.0.1:0${name === 'web' || name === 'traefik' ? '' : '/udp'}"\n${extra}`;
  await writeFile(join(dir, 'gateway.yml'), `entryPoints:
${ep('web')}${ep('traefik')}${ep('dns')}${ep('echo', '    udp:\n      timeout: 1s\n')}${ep('spread')}${ep('broken')}${fileProviderYaml(join(dir, 'dynamic.yml'))}`);
  gw = await startGateway(join(dir, 'gateway.yml'));
});

after(async () => {
  await gw?.close();
  await server?.close();
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
});

test('an entry point address ending in /udp listens on UDP: dig resolves a catalog service through the gateway', async () => {
  const out = await eventually(async () => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port('dns')), '+time=2', '+tries=1', '+short', 'db.service.consul', 'A']);
    assert.equal(stdout.trim(), '10.9.0.7');
    return stdout;
  }, 20_000);
  assert.match(out, /10\.9\.0\.7/);
  // The SRV answer too: a second, larger answer on a new session (dig opens a new socket per run).
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port('dns')), '+time=2', '+tries=1', '+short', 'db.service.consul', 'SRV']);
  assert.match(stdout, /^1 1 5432 db-node\.node\.dc1\.consul\.$/m);
});

test('a client keeps one session (one server socket) while active; idle past udp.timeout, its next datagram opens a new one', async () => {
  const one = await client();
  const two = await client();
  await eventually(() => one.ask('warm-up', port('echo')), 20_000);
  const start = a.from.length;
  assert.equal(await one.ask('first', port('echo')), 'a:first');
  assert.equal(await one.ask('second', port('echo')), 'a:second');
  assert.equal(await two.ask('other', port('echo')), 'a:other');
  const [first, second, other] = a.from.slice(start);
  assert.equal(first, second, 'the datagrams of one client go through one session');
  assert.notEqual(first, other, 'another client address is another session');
  // Well past the 1s timeout (the sweep runs every 100ms): the session and its server socket are gone.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(await one.ask('again', port('echo')), 'a:again');
  assert.notEqual(a.from.at(-1), first, 'a new session after the idle timeout');
  one.close();
  two.close();
});

test('weighted and loadBalancer weights spread sessions 3:1 (a weight-0 server gets none)', async () => {
  await eventually(async () => {
    const probe = await client();
    try {
      await probe.ask('probe', port('spread'));
    } finally {
      probe.close();
    }
  }, 20_000);
  const answers: string[] = [];
  for (let i = 0; i < 8; i++) {
    const each = await client();
    answers.push((await each.ask('x', port('spread'))).split(':')[0]!);
    each.close();
  }
  const count = (name: string) => answers.filter((x) => x === name).length;
  assert.equal(count('a') + count('b'), 8, answers.join(','));
  assert.equal(count('c'), 0);
  assert.equal(count('a'), 6, answers.join(','));
  assert.equal(count('b'), 2, answers.join(','));
});

test('a reload sends new sessions to the new service; an open session keeps its server until it ends', async () => {
  const kept = await client();
  await eventually(() => kept.ask('before', port('echo')), 20_000);
  await writeAtomic(join(dir, 'dynamic.yml'), dynamic('echo-c'));
  await eventually(async () => {
    // The open session stays active meanwhile (it would end after the 1s udp.timeout otherwise) and on its server.
    assert.equal(await kept.ask('still', port('echo')), 'a:still');
    const fresh = await client();
    try {
      assert.equal(await fresh.ask('after', port('echo')), 'c:after');
    } finally {
      fresh.close();
    }
  }, 20_000);
  assert.equal(await kept.ask('still', port('echo')), 'a:still');
  kept.close();
});

test('the API lists UDP routers and services with status and errors, and counts them in the overview', async () => {
  const api = (path: string) => fetch(`${gw.admin}${path}`).then(async (r) => ({ status: r.status, body: await r.json() as unknown }));
  const routers = await eventually(async () => {
    const got = await api('/api/udp/routers');
    assert.equal(got.status, 200);
    assert.ok((got.body as unknown[]).length >= 5);
    return got.body as Array<Record<string, unknown>>;
  });
  const byName = new Map(routers.map((r) => [r.name as string, r]));
  assert.deepEqual(byName.get('dns@file'), { entryPoints: ['dns'], service: 'consul-dns', name: 'dns@file', provider: 'file', status: 'enabled', using: ['dns'] });
  // Traefik's GetUDPRoutersByEntryPoints: an unknown (or non-UDP) entry point warns; none left disables.
  assert.deepEqual(byName.get('nowhere@file')!.error, ['entryPoint "web" doesn\'t exist', 'entryPoint "missing" doesn\'t exist', 'no valid entryPoint for this router']);
  assert.equal(byName.get('nowhere@file')!.status, 'disabled');
  assert.equal(byName.get('broken@file')!.status, 'disabled');
  assert.deepEqual(byName.get('broken@file')!.error, ['the UDP service "does-not-exist@file" does not exist']);

  const one = await api('/api/udp/services/three-to-one@file');
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, {
    weighted: { services: [{ name: 'echo-a', weight: 3 }, { name: 'pair', weight: 1 }] },
    name: 'three-to-one@file', provider: 'file', type: 'weighted', status: 'enabled', usedBy: ['spread@file'],
  });
  assert.equal((await api('/api/udp/routers/nope@file')).status, 404);
  assert.deepEqual(((await api('/api/udp/routers?status=disabled')).body as Array<{ name: string }>).map((r) => r.name), ['broken@file', 'nowhere@file']);
  const overview = (await api('/api/overview')).body as { udp: unknown };
  assert.deepEqual(overview.udp, { routers: { total: 5, warnings: 0, errors: 2 }, services: { total: 5, warnings: 0, errors: 0 } });
});
