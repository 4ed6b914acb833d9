/**
 * TCP and UDP routing from catalog tags, end to end: a real `meshgate server`, Debian's redis-server registered with
 * `traefik.tcp.*` tags and a UDP echo server with `traefik.udp.*` tags, and a gateway with `providers.consulCatalog`.
 * Traefik's consulcatalog config.go is what is relied on: buildTCPServiceConfiguration/addServerTCP (a default load
 * balancer named after the service, its one server the instance's address and port) and the UDP counterparts; an
 * instance with only TCP/UDP tags gets no HTTP router (buildConfiguration's tcpOrUDP branch); instances of one
 * service pool their servers (pkg/provider Merge).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { freePort, startTestServer } from '../helpers/server.ts';
import { catalogStaticYaml, eventually, startGateway, tempDir } from './helpers.ts';

let server: RunningServer;
let consul: ConsulClient;
let gw: Awaited<ReturnType<typeof startGateway>>;
let redis: ChildProcess;
const udpServers: dgram.Socket[] = [];

async function udpEcho(name: string): Promise<number> {
  const socket = dgram.createSocket('udp4');
  udpServers.push(socket);
  socket.on('message', (msg, rinfo) => socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket.address().port;
}

/** One datagram from a fresh socket (a new session at the gateway), its answer or an error after 3s. */
async function askUdp(port: number, text: string): Promise<string> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no UDP answer')), 3_000);
      socket.once('message', (msg) => { clearTimeout(timer); resolve(msg.toString()); });
      socket.send(text, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

before(async () => {
  server = await startTestServer();
  consul = createClient({ address: server.url, env: {} });
  const redisPort = await freePort();
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const echoA = await udpEcho('a');
  const echoB = await udpEcho('b');
  const register = (body: Record<string, unknown>) => consul.agent.serviceRegister(body as unknown as Parameters<ConsulClient['agent']['serviceRegister']>[0]);
  await register({
    ID: 'redis-1', Name: 'redis', Address: '127.0.0.1', Port: redisPort,
    Tags: ['traefik.enable=true', 'traefik.tcp.routers.redis.rule=HostSNI(`*`)', 'traefik.tcp.routers.redis.entrypoints=redis'],
  });
  // Two instances of one UDP service: one load balancer with both servers.
  for (const [id, port] of [['echo-a', echoA], ['echo-b', echoB]] as const) {
    await register({
      ID: id, Name: 'echo', Address: '127.0.0.1', Port: port,
      Tags: ['traefik.enable=true', 'traefik.udp.routers.echo.entrypoints=echo'],
    });
  }
  const dir = await tempDir('mg-catalog-l4-');
  await writeFile(join(dir, 'gateway.yml'), catalogStaticYaml(server.url, { entryPoints: `  redis:
    address: "127.0.0.1:0"
  echo:
    address: "127.0.0.1:0/udp"
` }));
  gw = await startGateway(join(dir, 'gateway.yml'));
});

after(async () => {
  await gw?.close();
  await server?.close();
  for (const s of udpServers) s.close();
  if (redis && redis.exitCode === null && redis.signalCode === null) {
    redis.kill('SIGTERM');
    await new Promise((r) => redis.once('exit', r));
  }
});

test('a Redis client reaches redis-server through a TCP router made from traefik.tcp.* tags', async () => {
  const client = new Redis({ host: '127.0.0.1', port: gw.addresses().redis!.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 60 ? null : 100) });
  // Until the catalog's configuration arrives the entry point speaks HTTP and answers the PING with a 400.
  client.on('error', () => {});
  try {
    await eventually(async () => {
      if (client.status !== 'ready') await client.connect().catch(() => {});
      assert.equal(await client.ping(), 'PONG');
    }, 30_000);
    await client.set('from-catalog', 'yes');
    assert.equal(await client.get('from-catalog'), 'yes');
  } finally {
    client.disconnect();
  }
  const router = await (await fetch(`${gw.admin}/api/tcp/routers/redis@consulcatalog`)).json() as Record<string, unknown>;
  assert.equal(router.service, 'redis', 'the default service is named after the catalog service');
  assert.equal(router.status, 'enabled');
  // Only TCP tags: no HTTP router or service for the instance.
  const http = await (await fetch(`${gw.admin}/api/http/routers?search=redis`)).json() as unknown[];
  assert.deepEqual(http, []);
});

test('UDP tags: both instances of the service serve sessions through one router', async () => {
  const port = gw.addresses().echo!.port;
  const seen = new Set<string>();
  await eventually(async () => {
    seen.add((await askUdp(port, 'hi')).split(':')[0]!);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  }, 30_000);
  const service = await (await fetch(`${gw.admin}/api/udp/services/echo@consulcatalog`)).json() as { loadBalancer: { servers: Array<{ address: string }> }; usedBy: string[] };
  assert.equal(service.loadBalancer.servers.length, 2);
  assert.deepEqual(service.usedBy, ['echo@consulcatalog']);
});
