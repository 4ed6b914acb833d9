/**
 * Consul's DNS interface on `meshgate server`, asked by Debian's `dig` over real UDP and TCP sockets: healthy
 * instances only (critical out, warning in), SRV with Consul's targets, tags in both forms, node lookups,
 * NXDOMAIN with the SOA, REFUSED outside the domain, truncation over UDP, and malformed packets survived.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { eventually, freePort, startTestServer } from '../helpers/server.ts';

const run = promisify(execFile);

let server: RunningServer;
let dnsPort: number;

async function api(method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${server.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  assert.equal(res.status, 200, `${method} ${path}: ${await res.text()}`);
}

/** `dig` against the server's DNS port; `+time/+tries` keep a dropped answer from hanging the test. */
async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(dnsPort), '+time=2', '+tries=1', ...args]);
  return stdout;
}

/** The answer section's records as `[name, type, data]`. */
async function answers(name: string, type: string, ...flags: string[]): Promise<string[][]> {
  const out = await dig(name, type, '+noall', '+answer', ...flags);
  return records(out);
}

function records(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => {
      const [n, , , t, ...data] = l.trim().split(/\s+/);
      return [n!, t!, data.join(' ')];
    });
}

async function header(name: string, type: string, ...flags: string[]): Promise<{ status: string; flags: string[]; out: string }> {
  const out = await dig(name, type, ...flags);
  const status = /status: (\w+)/.exec(out)?.[1] ?? 'none';
  const f = /;; flags: ([a-z ]+);/.exec(out)?.[1]?.trim().split(' ') ?? [];
  return { status, flags: f, out };
}

const sorted = (xs: string[]): string[] => [...xs].sort();

async function registerExternal(node: string, address: string, service: Record<string, unknown>, checks: unknown[] = []): Promise<void> {
  await api('PUT', '/v1/catalog/register', { Node: node, Address: address, Service: service, ...(checks.length > 0 ? { Checks: checks } : {}) });
}

before(async () => {
  dnsPort = await freePort();
  server = await startServer(
    { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', ports: { dns: dnsPort } },
    silentLogger(),
  );
});

after(async () => {
  await server?.close();
});

describe('DNS interface', () => {
  test('A and SRV list exactly the healthy instances: critical out, warning in, SRV targets with their A records', async () => {
    await registerExternal('api-a', '10.1.0.1', { ID: 'api-1', Service: 'api', Port: 8001 });
    await registerExternal('api-b', '10.1.0.2', { ID: 'api-2', Service: 'api', Port: 8002 }, [
      { CheckID: 'api-2-check', Name: 'warn', Status: 'warning', ServiceID: 'api-2' },
    ]);
    await registerExternal('api-c', '10.1.0.3', { ID: 'api-3', Service: 'api', Port: 8003 }, [
      { CheckID: 'api-3-check', Name: 'down', Status: 'critical', ServiceID: 'api-3' },
    ]);
    // A node-level critical check takes every service of that node out as well.
    await registerExternal('api-d', '10.1.0.4', { ID: 'api-4', Service: 'api', Port: 8004 }, [
      { CheckID: 'node-down', Name: 'node down', Status: 'critical' },
    ]);

    const a = await answers('api.service.consul', 'A');
    assert.deepEqual(sorted(a.map((r) => r[2]!)), ['10.1.0.1', '10.1.0.2']);
    assert.ok(a.every((r) => r[0] === 'api.service.consul.' && r[1] === 'A'));
    assert.deepEqual(sorted((await dig('api.service.consul', 'A', '+short', '+tcp')).trim().split('\n')), ['10.1.0.1', '10.1.0.2']);

    const out = await dig('api.service.consul', 'SRV', '+noall', '+answer', '+additional');
    const recs = records(out);
    const srv = recs.filter((r) => r[1] === 'SRV').map((r) => r[2]!);
    assert.deepEqual(sorted(srv), ['1 1 8001 api-a.node.dc1.consul.', '1 1 8002 api-b.node.dc1.consul.']);
    const extra = recs.filter((r) => r[1] === 'A').map((r) => `${r[0]} ${r[2]}`);
    assert.deepEqual(sorted(extra), ['api-a.node.dc1.consul. 10.1.0.1', 'api-b.node.dc1.consul. 10.1.0.2']);

    // The datacenter-qualified form answers the same; another datacenter is NXDOMAIN.
    assert.deepEqual(sorted((await answers('api.service.dc1.consul', 'A')).map((r) => r[2]!)), ['10.1.0.1', '10.1.0.2']);
    assert.equal((await header('api.service.dc2.consul', 'A')).status, 'NXDOMAIN');
  });

  test('a TTL check failing through /v1/agent/check/fail takes the instance out of DNS, passing brings it back', async () => {
    for (const [id, addr] of [['ttl-1', '10.2.0.1'], ['ttl-2', '10.2.0.2']] as const) {
      await api('PUT', '/v1/agent/service/register', { Name: 'ttlsvc', ID: id, Address: addr, Port: 9000, Check: { TTL: '60s', Status: 'passing' } });
    }
    const addrs = async (): Promise<string[]> => sorted((await answers('ttlsvc.service.consul', 'A')).map((r) => r[2]!));
    assert.deepEqual(await addrs(), ['10.2.0.1', '10.2.0.2']);

    await api('PUT', '/v1/agent/check/fail/service:ttl-1?note=down');
    await eventually(async () => JSON.stringify(await addrs()) === JSON.stringify(['10.2.0.2']), 'ttl-1 to leave DNS');
    // SRV follows the same view; the instance's own address makes Consul's .addr. target.
    const srv = (await answers('ttlsvc.service.consul', 'SRV')).map((r) => r[2]!);
    assert.deepEqual(srv, ['1 1 9000 0a020002.addr.dc1.consul.']);

    await api('PUT', '/v1/agent/check/fail/service:ttl-2?note=down');
    await eventually(async () => (await header('ttlsvc.service.consul', 'A')).status === 'NXDOMAIN', 'no healthy instance → NXDOMAIN');

    await api('PUT', '/v1/agent/check/pass/service:ttl-1');
    await eventually(async () => JSON.stringify(await addrs()) === JSON.stringify(['10.2.0.1']), 'ttl-1 back in DNS');
  });

  test('tag filtering: <tag>.<service>.service and RFC 2782 _<service>._<tag>.service; _tcp filters nothing', async () => {
    await registerExternal('tag-a', '10.3.0.1', { ID: 'tagged-1', Service: 'tagged', Port: 7001, Tags: ['primary', 'v1'] });
    await registerExternal('tag-b', '10.3.0.2', { ID: 'tagged-2', Service: 'tagged', Port: 7002, Tags: ['secondary', 'v1'] });

    assert.deepEqual((await answers('primary.tagged.service.consul', 'A')).map((r) => r[2]), ['10.3.0.1']);
    assert.deepEqual((await answers('secondary.tagged.service.consul', 'A')).map((r) => r[2]), ['10.3.0.2']);
    assert.deepEqual(sorted((await answers('v1.tagged.service.consul', 'A')).map((r) => r[2]!)), ['10.3.0.1', '10.3.0.2']);
    assert.deepEqual((await answers('_tagged._primary.service.consul', 'SRV')).map((r) => r[2]), ['1 1 7001 tag-a.node.dc1.consul.']);
    assert.deepEqual(
      sorted((await answers('_tagged._tcp.service.consul', 'SRV')).map((r) => r[2]!)),
      ['1 1 7001 tag-a.node.dc1.consul.', '1 1 7002 tag-b.node.dc1.consul.'],
    );
    assert.equal((await header('nosuchtag.tagged.service.consul', 'A')).status, 'NXDOMAIN');
  });

  test('node lookup: <node>.node[.dc].consul gives the node address; AAAA for IPv6; ANY answers both kinds', async () => {
    await registerExternal('lookup-me', '10.4.0.9', { ID: 'lk', Service: 'lk', Port: 1 });
    await registerExternal('six', 'fd00::42', { ID: 'six-1', Service: 'sixsvc', Port: 2 });
    assert.deepEqual(await answers('lookup-me.node.consul', 'A'), [['lookup-me.node.consul.', 'A', '10.4.0.9']]);
    assert.deepEqual((await answers('lookup-me.node.dc1.consul', 'A')).map((r) => r[2]), ['10.4.0.9']);
    assert.deepEqual(await answers('six.node.consul', 'AAAA'), [['six.node.consul.', 'AAAA', 'fd00::42']]);
    assert.deepEqual(await answers('six.node.consul', 'ANY'), [['six.node.consul.', 'AAAA', 'fd00::42']]);
    assert.deepEqual((await answers('sixsvc.service.consul', 'AAAA')).map((r) => r[2]), ['fd00::42']);
    // The server's own node (its agent) is in the catalog too.
    assert.deepEqual((await answers('node-1.node.consul', 'A')).map((r) => r[2]), ['127.0.0.1']);
  });

  test('<service>.connect lists the instances that accept Connect traffic — its healthy proxies and native instances — at their own ports (agent/dns.go dispatch "connect")', async () => {
    await registerExternal('pay-a', '10.6.0.1', {
      ID: 'pay-proxy-1', Service: 'pay-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'pay' },
    });
    await registerExternal('pay-b', '10.6.0.2', { ID: 'pay-native', Service: 'pay', Port: 9443, Connect: { Native: true } });
    await registerExternal('pay-c', '10.6.0.3', { ID: 'pay-plain', Service: 'pay', Port: 8080 });
    await registerExternal('pay-d', '10.6.0.4', {
      ID: 'pay-proxy-2', Service: 'pay-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'pay' },
    }, [{ CheckID: 'proxy-down', Name: 'down', Status: 'critical', ServiceID: 'pay-proxy-2' }]);

    assert.deepEqual(sorted((await answers('pay.connect.consul', 'A')).map((r) => r[2]!)), ['10.6.0.1', '10.6.0.2']);
    assert.deepEqual(
      sorted((await answers('pay.connect.dc1.consul', 'SRV')).map((r) => r[2]!)),
      ['1 1 21000 pay-a.node.dc1.consul.', '1 1 9443 pay-b.node.dc1.consul.'],
    );
    // The plain view is unchanged: every healthy instance of the service itself.
    assert.deepEqual(sorted((await answers('pay.service.consul', 'A')).map((r) => r[2]!)), ['10.6.0.2', '10.6.0.3']);
    assert.equal((await header('nothing.connect.consul', 'A')).status, 'NXDOMAIN');
    assert.equal((await header('pay.connect.dc2.consul', 'A')).status, 'NXDOMAIN');
  });

  test('<service>.virtual answers the service\'s virtual IP, and NOERROR without an answer when it has none', async () => {
    await registerExternal('vip-a', '10.7.0.1', { ID: 'vip-1', Service: 'vip', Port: 80, TaggedAddresses: { 'consul-virtual': { Address: '240.0.0.7', Port: 80 } } });
    await registerExternal('vip-b', '10.7.0.2', { ID: 'novip-1', Service: 'novip', Port: 80 });
    assert.deepEqual(await answers('vip.virtual.consul', 'A'), [['vip.virtual.consul.', 'A', '240.0.0.7']]);
    const none = await header('novip.virtual.consul', 'A');
    assert.equal(none.status, 'NOERROR');
    assert.deepEqual(await answers('novip.virtual.consul', 'A'), []);
  });

  test('node names with dots, the tag form with dots, and SRV without the service label, as Consul joins the labels', async () => {
    await registerExternal('db.example', '10.8.0.9', { ID: 'dotted', Service: 'dotted', Port: 5432, Tags: ['v1.2'] });
    assert.deepEqual(await answers('db.example.node.consul', 'A'), [['db.example.node.consul.', 'A', '10.8.0.9']]);
    assert.deepEqual((await answers('v1.2.dotted.service.consul', 'A')).map((r) => r[2]), ['10.8.0.9']);
    assert.deepEqual((await answers('_dotted._tcp.consul', 'SRV')).map((r) => r[2]), ['1 1 5432 db.example.node.dc1.consul.']);
  });

  test('unknown names under the domain are NXDOMAIN with the SOA in the authority section', async () => {
    for (const name of ['nope.service.consul', 'nope.node.consul', 'what.ever.consul', 'a.b.c.service.consul']) {
      const h = await header(name, 'A');
      assert.equal(h.status, 'NXDOMAIN', name);
      assert.ok(h.flags.includes('aa'), `${name}: authoritative`);
      const auth = records((await dig(name, 'A', '+noall', '+authority')));
      assert.equal(auth.length, 1, name);
      assert.equal(auth[0]![0], 'consul.');
      assert.equal(auth[0]![1], 'SOA');
      assert.match(auth[0]![2]!, /^ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0$/);
    }
  });

  test('names outside the domain are REFUSED (no recursors)', async () => {
    const h = await header('example.com', 'A');
    assert.equal(h.status, 'REFUSED');
    assert.deepEqual(await answers('example.com', 'A'), []);
  });

  test('answers are shuffled per query', async () => {
    for (let i = 1; i <= 6; i++) await registerExternal(`shuf-${i}`, `10.5.0.${i}`, { ID: `shuf-${i}`, Service: 'shuf', Port: 80 });
    const firsts = new Set<string>();
    for (let i = 0; i < 40; i++) firsts.add((await answers('shuf.service.consul', 'A'))[0]![2]!);
    assert.ok(firsts.size > 1, `first answer was always ${[...firsts].join()}`);
  });

  test('many instances: UDP comes back truncated (TC), TCP carries every one', async () => {
    for (let i = 1; i <= 120; i++) {
      await registerExternal('big-node', '10.6.0.1', { ID: `big-${i}`, Service: 'big', Address: `10.7.${Math.floor(i / 250)}.${i % 250}`, Port: 5000 + i });
    }
    for (const edns of ['+noedns', '+edns=0']) {
      const udp = await header('big.service.consul', 'A', '+notcp', '+ignore', edns);
      assert.equal(udp.status, 'NOERROR');
      assert.ok(udp.flags.includes('tc'), `${edns}: flags ${udp.flags.join(' ')}`);
      const n = records(udp.out.split(';; ANSWER SECTION:')[1]?.split('\n\n')[0] ?? '').length;
      assert.ok(n > 0 && n < 120, `${edns}: ${n} answers over UDP`);
      assert.ok(Buffer.byteLength(udp.out) > 0);
      const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(udp.out)?.[1]);
      assert.ok(size <= (edns === '+noedns' ? 512 : 1232), `${edns}: ${size} bytes`);
    }
    const tcp = await answers('big.service.consul', 'A', '+tcp');
    assert.equal(tcp.length, 120);
    assert.equal(new Set(tcp.map((r) => r[2])).size, 120);
    const srvTcp = await dig('big.service.consul', 'SRV', '+tcp', '+noall', '+answer', '+additional');
    assert.equal(records(srvTcp).filter((r) => r[1] === 'SRV').length, 120);
    assert.equal(records(srvTcp).filter((r) => r[1] === 'A').length, 120);
    // Without +ignore, dig retries over TCP on TC and gets the whole answer.
    assert.equal((await answers('big.service.consul', 'A', '+notcp')).length, 120);
  });

  test('malformed UDP packets do not crash the server; the next query still answers', async () => {
    const sock = createSocket('udp4');
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    const send = (buf: Buffer): Promise<void> => new Promise((r, j) => sock.send(buf, dnsPort, '127.0.0.1', (e) => (e ? j(e) : r())));
    try {
      await send(Buffer.from([1, 2, 3]));
      // A header claiming 5 questions followed by garbage: FORMERR with the query's ID.
      const junk = Buffer.concat([Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0]), Buffer.from('garbage!garbage!')]);
      await send(junk);
      await send(Buffer.alloc(600, 0xff));
      await eventually(() => replies.some((r) => r.readUInt16BE(0) === 0xabcd), 'a FORMERR reply to the junk query');
      const formerr = replies.find((r) => r.readUInt16BE(0) === 0xabcd)!;
      assert.equal(formerr.readUInt16BE(2) & 0x8000, 0x8000, 'QR set');
      assert.equal(formerr.readUInt16BE(2) & 0xf, 1, 'rcode FORMERR');
    } finally {
      sock.close();
    }
    assert.deepEqual((await answers('api.service.consul', 'A', '+notcp')).length, 2);
    assert.equal((await header('api.service.consul', 'A', '+tcp')).status, 'NOERROR');
  });
});

describe('DNS listener', () => {
  test('off unless a port is given (ports.dns = -1 or absent); a test server has no DNS port', async () => {
    const plain = await startTestServer();
    try {
      assert.equal(plain.dnsPort, undefined);
    } finally {
      await plain.close();
    }
    const port = await freePort();
    const off = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n', datacenter: 'dc1', ports: { dns: -1 } }, silentLogger());
    try {
      assert.equal(off.dnsPort, undefined);
      const h = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', 'x.service.consul']).then(
        () => 'answered',
        () => 'no answer',
      );
      assert.equal(h, 'no answer');
    } finally {
      await off.close();
    }
  });

  test('a custom domain: names under it answer, consul. is then outside', async () => {
    const port = await freePort();
    const other = await startServer(
      { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'dom-node', datacenter: 'dc1', ports: { dns: port }, domain: 'mesh.internal' },
      silentLogger(),
    );
    try {
      assert.equal(other.dnsPort, port);
      const ask = async (name: string): Promise<string> =>
        (await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', name, 'A'])).stdout;
      assert.match(await ask('dom-node.node.mesh.internal'), /dom-node\.node\.mesh\.internal\.\s+0\s+IN\s+A\s+127\.0\.0\.1/);
      assert.match(await ask('dom-node.node.consul'), /status: REFUSED/);
    } finally {
      await other.close();
    }
  });
});
