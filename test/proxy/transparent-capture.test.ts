/**
 * Transparent capture without the mesh around it: in a network namespace, `meshgate connect redirect-traffic`
 * installs Consul's rules (sdk/iptables/iptables.go Setup), an application's plain TCP connection to another
 * namespace's address lands on the outbound listener, which recovers the original destination from conntrack and
 * either hands it to the mesh path or passes it through; excluded ports and the proxy's own UID bypass capture.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createNetnsPair, execIn, lineMatching, PROXY_UID, spawnIn, type NetnsPair } from './netns.ts';

const node = process.execPath;
const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;

let pair: NetnsPair | undefined;
let skip: string | undefined;
const children: ChildProcess[] = [];
let decisions: Array<{ decision: string; destination?: { address: string; port: number } }> = [];

before(async () => {
  const created = await createNetnsPair('cap');
  if ('skip' in created) {
    skip = created.skip;
    return;
  }
  pair = created;
  const echo = spawnIn(pair.b, [node, fixture('tcp-echo.ts'), '8080', '9999']);
  children.push(echo);
  await lineMatching(echo, /^ready$/);
  // started as root and dropping to PROXY_UID itself, after opening conntrack (see ConntrackTable)
  const listener = spawnIn(pair.a, [node, fixture('transparent-listener.ts'), '15001', `${pair.b.address}:8443=billing`]);
  children.push(listener);
  await lineMatching(listener, /^listening 15001$/);
  listener.stdout!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) decisions.push(JSON.parse(line));
  });
  await execIn(pair.a, [node, cli, 'connect', 'redirect-traffic', '-proxy-uid', String(PROXY_UID), '-proxy-inbound-port', '21000',
    '-exclude-outbound-port', '9999']);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await pair?.cleanup();
});

test('an application\'s plain connection is captured, its original destination recovered and passed through', async (t) => {
  if (skip) return t.skip(skip);
  decisions = [];
  const answer = await execIn(pair!.a, [node, fixture('tcp-call.ts'), pair!.b.address, '8080']);
  // B saw the connection coming from A's address (the passthrough dial), and the listener saw where it was going.
  assert.equal(answer.trim(), `8080 from ${pair!.a.address}`);
  assert.deepEqual(decisions, [{ decision: 'passthrough', destination: { address: pair!.b.address, port: 8080 } }]);
});

test('a destination the mesh knows is handed to the mesh path', async (t) => {
  if (skip) return t.skip(skip);
  decisions = [];
  const answer = await execIn(pair!.a, [node, fixture('tcp-call.ts'), pair!.b.address, '8443']);
  assert.equal(answer.trim(), 'MESH billing');
  assert.deepEqual(decisions, [{ decision: 'mesh', destination: { address: pair!.b.address, port: 8443 } }]);
});

test('an excluded outbound port and the proxy\'s own UID bypass the capture', async (t) => {
  if (skip) return t.skip(skip);
  decisions = [];
  assert.equal((await execIn(pair!.a, [node, fixture('tcp-call.ts'), pair!.b.address, '9999'])).trim(), `9999 from ${pair!.a.address}`);
  assert.equal((await execIn(pair!.a, [node, fixture('tcp-call.ts'), pair!.b.address, '8080'], { uid: PROXY_UID })).trim(), `8080 from ${pair!.a.address}`);
  assert.deepEqual(decisions, []);
});

test('a connection made to the listener itself (not redirected) is refused, not looped back', async (t) => {
  if (skip) return t.skip(skip);
  decisions = [];
  const answer = await execIn(pair!.a, [node, fixture('tcp-call.ts'), '127.0.0.1', '15001']);
  assert.match(answer.trim(), /^(CLOSED|ERROR ECONNRESET)$/);
  assert.deepEqual(decisions.map((d) => d.decision), ['refuse']);
});
