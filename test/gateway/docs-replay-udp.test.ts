/**
 * Traefik v3.7's UDP reference pages (routing-configuration/udp/routing/router.md, rules-priority.md and
 * udp/service.md, commits in fixtures/traefik-docs/manifest.json; the load check is docs-replay.test.ts's, the page
 * list and udp/router/observability.md — broken in Traefik too — in docs-replay-l4-gaps.ts) on a running gateway with
 * UDP echo servers on 127.0.0.1. Each snippet sits unchanged in a file provider directory beside a file with the
 * services it names but does not define (or a router in front of the services it defines); the page's placeholder
 * addresses are pointed at the echo servers. The UDP entry points are the pages' own names: udp-ep, dns, other,
 * streaming. What the pages say, and where Traefik does it:
 * - router.md: a router attached to two entry points forwards the packets of both to its service
 *   (pkg/server/router/udp router.go BuildHandlers, per entry point);
 * - rules-priority.md: "If not specified, UDP routers will accept packets from all defined (UDP) EntryPoints"; with
 *   entryPoints the router is on those only (pkg/server/router/udp: routers filtered by entry point);
 * - service.md: a load balancer's server answers; weighted 3:1 between services, chosen per session
 *   (pkg/udp wrr_load_balancer.go; a session is one client address, pkg/udp Listener).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, withDirectoryGateway, type startGateway } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

const sockets: dgram.Socket[] = [];
after(() => {
  for (const socket of sockets) socket.close();
});

/** A UDP server that answers `<name>:<datagram>`; its address as `127.0.0.1:port`. */
async function echo(name: string): Promise<string> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  socket.on('message', (msg, rinfo) => socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return `127.0.0.1:${socket.address().port}`;
}

/** One datagram from a socket of its own (a session of its own at the gateway), and the answer. */
async function ask(port: number, text: string, waitMs = 5_000): Promise<string> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return new Promise<string>((resolve, reject) => {
    // Generous: a lost datagram fails this call (and `eventually` retries it), it never hangs the test.
    const timer = setTimeout(() => reject(new Error(`no answer to ${text}`)), waitMs);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      resolve(msg.toString());
    });
    socket.send(text, port, '127.0.0.1');
  });
}

type Gateway = Awaited<ReturnType<typeof startGateway>>;

/** A gateway with the pages' UDP entry points (and web) whose file provider directory holds `files`. */
function serve(files: Record<string, string>, check: (gw: Gateway) => Promise<void>): Promise<void> {
  return withDirectoryGateway(files, { 'web': '', 'udp-ep': '/udp', 'dns': '/udp', 'other': '/udp', 'streaming': '/udp' }, check);
}

const port = (gw: Gateway, entryPoint: string) => gw.addresses()[entryPoint]!.port;

/** The router as the API lists it, once it is enabled. */
async function routerUp(gw: Gateway, name: string): Promise<{ entryPoints: string[] }> {
  return eventually(async () => {
    const listed = await (await fetch(`${gw.admin}/api/udp/routers`)).json() as { name: string; status: string; entryPoints: string[] }[];
    const router = listed.find((r) => r.name === `${name}@file`);
    assert.equal(router?.status, 'enabled', JSON.stringify(listed));
    return router!;
  }, 20_000);
}

const loadBalancer = (name: string, address: string) => `    ${name}:\n      loadBalancer:\n        servers:\n          - address: "${address}"\n`;

for (const file of ['udp-router.01.yaml', 'udp-router.02.toml']) {
  test(`docs replay behaviour: ${file} — my-udp-router forwards the packets of both its entry points, udp-ep and dns, to my-udp-service`, async () => {
    const service = await echo('my-udp-service');
    await serve({ [file]: snippet(file), 'replay.yml': `udp:\n  services:\n${loadBalancer('my-udp-service', service)}` }, async (gw) => {
      await routerUp(gw, 'my-udp-router');
      assert.equal(await eventually(() => ask(port(gw, 'udp-ep'), 'via udp-ep')), 'my-udp-service:via udp-ep');
      assert.equal(await eventually(() => ask(port(gw, 'dns'), 'via dns')), 'my-udp-service:via dns');
    });
  });
}

for (const file of ['udp-rules-priority.01.yaml', 'udp-rules-priority.02.toml']) {
  test(`docs replay behaviour: ${file} — "By default, routers listen to all UDP entrypoints i.e. other, and streaming"`, async () => {
    const service = await echo('service-1');
    await serve({ [file]: snippet(file), 'replay.yml': `udp:\n  services:\n${loadBalancer('service-1', service)}` }, async (gw) => {
      await routerUp(gw, 'Router-1');
      for (const entryPoint of ['other', 'streaming', 'udp-ep', 'dns']) {
        assert.equal(await eventually(() => ask(port(gw, entryPoint), entryPoint)), `service-1:${entryPoint}`);
      }
    });
  });
}

for (const file of ['udp-rules-priority.03.yaml', 'udp-rules-priority.04.toml']) {
  test(`docs replay behaviour: ${file} — with entryPoints [streaming] the router "does not listen on other"`, async () => {
    const service = await echo('service-1');
    await serve({ [file]: snippet(file), 'replay.yml': `udp:\n  services:\n${loadBalancer('service-1', service)}` }, async (gw) => {
      const router = await routerUp(gw, 'Router-1');
      assert.deepEqual(router.entryPoints, ['streaming']);
      assert.equal(await eventually(() => ask(port(gw, 'streaming'), 'hello')), 'service-1:hello');
      // No router on `other`: a datagram there goes nowhere. (Under load this can only pass wrongly, never fail wrongly.)
      await assert.rejects(ask(port(gw, 'other'), 'hello?', 1_500), /no answer/);
    });
  });
}

for (const file of ['udp-service.01.yaml', 'udp-service.02.toml']) {
  test(`docs replay behaviour: ${file} — a load balancer "balancing the requests between the servers of the same service"`, async () => {
    const server = await echo('my-service');
    const text = snippet(file).replace('xx.xx.xx.xx:xx', server);
    await serve({ [file]: text, 'replay.yml': 'udp:\n  routers:\n    replay:\n      entryPoints: [udp-ep]\n      service: my-service\n' }, async (gw) => {
      await routerUp(gw, 'replay');
      assert.equal(await eventually(() => ask(port(gw, 'udp-ep'), 'ping')), 'my-service:ping');
    });
  });
}

for (const file of ['udp-service.03.yaml', 'udp-service.04.toml']) {
  test(`docs replay behaviour: ${file} — weighted round robin sends sessions to appv1 and appv2 by their weights (3:1)`, async () => {
    const [v1, v2] = [await echo('appv1'), await echo('appv2')];
    // One placeholder for both servers on the page: the first is appv1's, the second appv2's.
    const text = snippet(file).replace('xxx.xxx.xxx.xxx:8080', v1).replace('xxx.xxx.xxx.xxx:8080', v2);
    await serve({ [file]: text, 'replay.yml': 'udp:\n  routers:\n    replay:\n      entryPoints: [udp-ep]\n      service: app\n' }, async (gw) => {
      await routerUp(gw, 'replay');
      await eventually(() => ask(port(gw, 'udp-ep'), 'warm-up'));
      const seen: string[] = [];
      for (let i = 0; i < 8; i++) seen.push((await ask(port(gw, 'udp-ep'), `session ${i}`)).split(':')[0]!);
      assert.equal(seen.filter((s) => s === 'appv1').length, 6, seen.join(','));
      assert.equal(seen.filter((s) => s === 'appv2').length, 2, seen.join(','));
    });
  });
}
