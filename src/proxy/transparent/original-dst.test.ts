import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConntrackTable, findOriginalDestination, parseConntrackLine } from './original-dst.ts';

// A REDIRECTed connection as /proc/net/nf_conntrack prints it: original tuple A:40312 → B:8080, reply tuple as
// the proxy sees it, 127.0.0.1:15001 → A:40312.
const redirected = 'ipv4     2 tcp      6 431999 ESTABLISHED src=10.213.7.1 dst=10.213.7.2 sport=40312 dport=8080 src=127.0.0.1 dst=10.213.7.1 sport=15001 dport=40312 [ASSURED] mark=0 zone=0 use=2';
const other = 'ipv4     2 tcp      6 86399 ESTABLISHED src=10.213.7.1 dst=10.213.7.2 sport=40313 dport=9999 src=10.213.7.2 dst=10.213.7.1 sport=9999 dport=40313 [ASSURED] mark=0 zone=0 use=2';
const udp = 'ipv4     2 udp      17 20 src=10.213.7.1 dst=10.213.7.3 sport=5353 dport=53 src=10.213.7.3 dst=10.213.7.1 sport=53 dport=5353 mark=0 zone=0 use=2';
// `conntrack -L` prints the same tuples without the leading family columns.
const cliFormat = 'tcp      6 431999 ESTABLISHED src=10.213.7.1 dst=10.213.7.2 sport=40312 dport=8080 src=127.0.0.1 dst=10.213.7.1 sport=15001 dport=40312 [ASSURED] mark=0 use=1';

const socket = { localAddress: '127.0.0.1', localPort: 15001, remoteAddress: '10.213.7.1', remotePort: 40312 };

test('parseConntrackLine splits the original and reply tuples; non-TCP lines are skipped', () => {
  assert.deepEqual(parseConntrackLine(redirected), {
    original: { src: '10.213.7.1', dst: '10.213.7.2', sport: 40312, dport: 8080 },
    reply: { src: '127.0.0.1', dst: '10.213.7.1', sport: 15001, dport: 40312 },
  });
  assert.equal(parseConntrackLine(udp), undefined);
});

test('findOriginalDestination matches the reply tuple to the accepted socket exactly', () => {
  const table = [udp, other, redirected].join('\n');
  assert.deepEqual(findOriginalDestination(table, socket), { address: '10.213.7.2', port: 8080 });
  assert.deepEqual(findOriginalDestination(cliFormat, { ...socket, remoteAddress: '::ffff:10.213.7.1' }), { address: '10.213.7.2', port: 8080 });
  assert.equal(findOriginalDestination(table, { ...socket, remotePort: 40313 }), undefined);
  assert.equal(findOriginalDestination(table, { ...socket, remoteAddress: '10.213.7.9' }), undefined);
});

test('ConntrackTable re-reads its descriptor from the start on every lookup', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-conntrack-'));
  const file = join(dir, 'nf_conntrack');
  writeFileSync(file, `${other}\n`);
  const table = ConntrackTable.open({ procFile: file });
  try {
    assert.equal(table.source, 'proc');
    assert.equal(await table.lookup(socket), undefined);
    // The same descriptor sees what the kernel (here: the file) holds now, not what it held at open.
    writeFileSync(file, `${other}\n${redirected}\n`);
    assert.deepEqual(await table.lookup(socket), { address: '10.213.7.2', port: 8080 });
  } finally {
    table.close();
  }
});

test('without the proc file, lookups go to the conntrack tool (its output parsed the same way)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-conntrack-'));
  const tool = join(dir, 'conntrack');
  writeFileSync(tool, `#!/bin/sh\necho '${cliFormat}'\n`, { mode: 0o755 });
  const table = ConntrackTable.open({ procFile: join(dir, 'missing'), conntrack: tool });
  assert.equal(table.source, 'tool');
  assert.deepEqual(await table.lookup(socket), { address: '10.213.7.2', port: 8080 });
});
