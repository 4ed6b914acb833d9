/**
 * `meshgate server --help` says only what exists: every feature it names is served by a running server (a probe
 * path answers something other than 404), and features that are not there yet (ACL, Connect CA) are not claimed —
 * /v1/acl/token/self and /v1/connect/ca/roots still answer 404, so whoever adds them updates the help with them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { RunningServer } from '../../src/server/options.ts';
import { REPO_ROOT, startTestServer } from '../helpers/server.ts';

/** What the help may name → a path that serves it. */
const PROBES: Record<string, string> = {
  catalog: '/v1/catalog/services',
  health: '/v1/health/state/any',
  KV: '/v1/kv/?keys',
  sessions: '/v1/session/list',
  transactions: '/v1/txn',
  'config entries': '/v1/config/service-defaults',
  intentions: '/v1/connect/intentions',
};
const ABSENT: Record<string, string> = { ACL: '/v1/acl/token/self', 'Connect CA': '/v1/connect/ca/roots' };

let server: RunningServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

test('server --help names only features the server serves', async () => {
  const help = execFileSync(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'server', '--help'], { encoding: 'utf8' });
  // The description is the paragraph after "Usage:", which commander may wrap over several lines.
  const description = /\n\n(Runs a Meshgate server[\s\S]*?)\n\n/.exec(help)?.[1]?.replace(/\s+/g, ' ') ?? '';
  assert.ok(description, help);
  const named = description.replace(/^Runs a Meshgate server:\s*/, '').split(/,\s*|\s+and\s+/).map((s) => s.trim()).filter(Boolean);
  for (const feature of named) {
    if (feature === 'DNS') continue; // the DNS interface is a UDP/TCP listener, covered by test/server/dns.test.ts
    const probe = PROBES[feature];
    assert.ok(probe, `the help names "${feature}", which has no probe here`);
    const res = await fetch(`${server.url}${probe}`, { method: feature === 'transactions' ? 'PUT' : 'GET', ...(feature === 'transactions' ? { body: '[]' } : {}) });
    await res.text();
    assert.notEqual(res.status, 404, `${feature}: ${probe}`);
  }
  for (const [feature, probe] of Object.entries(ABSENT)) {
    const res = await fetch(`${server.url}${probe}`);
    await res.text();
    if (res.status === 404) assert.doesNotMatch(description, new RegExp(`\\b${feature}\\b`), `the help claims ${feature}, which is not served`);
  }
});
