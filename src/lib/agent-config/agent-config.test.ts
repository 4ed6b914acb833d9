/**
 * Loading Consul's agent configuration files: JSON and HCL, directory order, merging, and problems naming key and
 * file. Behaviour taken from Consul's agent/config: builder.go (sourcesFromPath: a dir's *.json/*.hcl in name order,
 * other files skipped with a warning, a named file with another extension is an error; a single `service` joins
 * `services` per file), merge.go (later values win, slices append, a non-empty map replaces), config.go (key names).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMeshgateError } from '../errors.ts';
import { AgentConfigError, loadAgentConfig, resolveHttpsTls } from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'mg-agent-config-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dir(files: Record<string, string>): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

async function problemsOf(paths: string[]): Promise<readonly string[]> {
  try {
    await loadAgentConfig(paths);
  } catch (err) {
    assert.ok(err instanceof AgentConfigError, String(err));
    assert.ok(isMeshgateError(err, 'MG_AGENT_CONFIG_INVALID'));
    return err.problems;
  }
  assert.fail('expected the load to fail');
}

test('an HCL file: blocks become objects, repeated service blocks join services, durations kept as written', async () => {
  const d = dir({
    'a.hcl': `
datacenter = "dc2"
ports {
  http = -1
  https = 8501
}
acl {
  enabled = true
  default_policy = "deny"
  token_ttl = "30s"
  tokens {
    initial_management = "root-secret"
  }
}
connect {
  enabled = true
  ca_config {
    leaf_cert_ttl = "72h"
  }
}
service {
  name = "web"
  checks = [{ http = "http://127.0.0.1:80/", interval = "10s" }]
}
service {
  name = "api"
}
retry_join = ["10.0.0.1"]
`,
  });
  const { config, files } = await loadAgentConfig([join(d, 'a.hcl')]);
  assert.deepEqual(files, [join(d, 'a.hcl')]);
  assert.equal(config.datacenter, 'dc2');
  assert.deepEqual(config.ports, { http: -1, https: 8501 });
  assert.deepEqual(config.acl, { enabled: true, default_policy: 'deny', token_ttl: '30s', tokens: { initial_management: 'root-secret' } });
  assert.deepEqual(config.connect, { enabled: true, ca_config: { leaf_cert_ttl: '72h' } });
  assert.deepEqual(config.services?.map((s) => s.name), ['web', 'api']);
  assert.deepEqual((config.services?.[0] as { checks: unknown[] }).checks, [{ http: 'http://127.0.0.1:80/', interval: '10s' }]);
  assert.equal(config.service, undefined);
  assert.deepEqual(config.retry_join, ['10.0.0.1']);
});

test('a JSON file reads the same keys', async () => {
  const d = dir({ 'a.json': JSON.stringify({ datacenter: 'dc3', ports: { dns: 8600 }, tls: { defaults: { cert_file: 'c.pem', key_file: 'k.pem', verify_incoming: true } } }) });
  const { config } = await loadAgentConfig([d]);
  assert.equal(config.datacenter, 'dc3');
  assert.deepEqual(config.ports, { dns: 8600 });
  assert.equal(config.tls?.defaults?.verify_incoming, true);
});

test('a directory is read in name order; later files win, lists append, a later map replaces an earlier one', async () => {
  const d = dir({
    // Written out of order on purpose: "10-" < "20-" < "9-" in byte order, as Go's sort.Strings orders them.
    '9-last.json': JSON.stringify({ node_name: 'from-9', services: [{ name: 'c' }], connect: { ca_config: { private_key_type: 'rsa' } } }),
    '10-first.hcl': 'node_name = "from-10"\ndatacenter = "dc-10"\nservices = [{ name = "a" }]\nacl {\n  enabled = true\n  tokens {\n    agent = "agent-10"\n  }\n}\nconnect {\n  ca_config {\n    leaf_cert_ttl = "1h"\n  }\n}\n',
    '20-second.json': JSON.stringify({ node_name: 'from-20', service: { name: 'b' }, acl: { tokens: { default: 'default-20' } }, retry_join: ['x'] }),
    'notes.txt': 'not a config',
  });
  mkdirSync(join(d, 'sub.json')); // a directory, even with a config extension, is not read (no recursion)
  const loaded = await loadAgentConfig([d]);
  assert.deepEqual(loaded.files.map((f) => f.slice(d.length + 1)), ['10-first.hcl', '20-second.json', '9-last.json']);
  assert.equal(loaded.config.node_name, 'from-9');
  assert.equal(loaded.config.datacenter, 'dc-10');
  assert.deepEqual(loaded.config.services?.map((s) => s.name), ['a', 'b', 'c']);
  // Blocks merge key by key: the agent token from one file and the default token from another both stay.
  assert.deepEqual(loaded.config.acl, { enabled: true, tokens: { agent: 'agent-10', default: 'default-20' } });
  // ca_config is a map: the later one replaces it whole (no leaf_cert_ttl left).
  assert.deepEqual(loaded.config.connect?.ca_config, { private_key_type: 'rsa' });
  assert.deepEqual(loaded.warnings, [`skipping file ${join(d, 'notes.txt')}, extension must be .hcl or .json`]);
});

test('-config-file and -config-dir arguments merge in the order given', async () => {
  const d = dir({ 'a.json': '{"datacenter":"from-dir"}' });
  const f = join(dir({ 'b.hcl': 'datacenter = "from-file"' }), 'b.hcl');
  assert.equal((await loadAgentConfig([d, f])).config.datacenter, 'from-file');
  assert.equal((await loadAgentConfig([f, d])).config.datacenter, 'from-dir');
  assert.deepEqual((await loadAgentConfig([])).config, {});
});

test('an unknown key is an error naming the key path and the file; a Consul key Meshgate lacks says so', async () => {
  const d = dir({
    'good.json': '{"datacenter":"dc1"}',
    'typo.hcl': 'acl {\n  enabled = true\n  tokens {\n    initial_managment = "x"\n  }\n}\ndatacentre = "dc1"\n',
    'consul.json': JSON.stringify({ encrypt: 'abc', ports: { serf_lan: 8301 }, tls: { internal_rpc: { verify_server_hostname: true } } }),
  });
  const problems = await problemsOf([d]);
  const typo = join(d, 'typo.hcl');
  const consul = join(d, 'consul.json');
  assert.deepEqual([...problems].sort(), [
    `not supported by meshgate: encrypt (${consul})`,
    `not supported by meshgate: ports.serf_lan (${consul})`,
    `not supported by meshgate: tls.internal_rpc (${consul})`,
    `unknown key: acl.tokens.initial_managment (${typo})`,
    `unknown key: datacentre (${typo})`,
  ].sort());
});

test('wrong types and values name the key and file', async () => {
  const f = join(dir({ 'x.json': JSON.stringify({ ports: { http: 'eighty' }, acl: { default_policy: 'maybe', token_ttl: 'soon' }, log_level: 'loud' }) }), 'x.json');
  const problems = await problemsOf([f]);
  assert.equal(problems.length, 4, problems.join('\n'));
  for (const key of ['ports.http', 'acl.default_policy', 'acl.token_ttl', 'log_level']) {
    assert.ok(problems.some((p) => p.startsWith(`${key}: `) && p.endsWith(`(${f})`)), `${key} in ${problems.join('\n')}`);
  }
});

test('files that cannot be read or parsed are problems; a named file must be .json or .hcl', async () => {
  const d = dir({ 'broken.hcl': 'datacenter = \n', 'broken.json': '{"datacenter":', 'conf.yaml': 'datacenter: x' });
  const problems = await problemsOf([join(d, 'broken.hcl'), join(d, 'broken.json'), join(d, 'conf.yaml'), join(d, 'missing.json')]);
  assert.equal(problems.length, 4, problems.join('\n'));
  // Files are listed (extension, existence) before any is parsed, so those problems come first.
  assert.equal(problems[0], `file ${join(d, 'conf.yaml')} has unknown extension; must be .hcl or .json`);
  assert.match(problems[1]!, /cannot read .*missing\.json: ENOENT/);
  assert.ok(problems[2]!.startsWith(`failed to parse ${join(d, 'broken.hcl')}: `), problems[2]);
  assert.ok(problems[3]!.startsWith(`failed to parse ${join(d, 'broken.json')}: `), problems[3]);
});

test('a block written twice where Consul takes one is refused', async () => {
  const f = join(dir({ 'x.hcl': 'ports {\n  http = 1\n}\nports {\n  dns = 2\n}\n' }), 'x.hcl');
  assert.deepEqual(await problemsOf([f]), [`ports: expected one block, found 2 (${f})`]);
});

test('HTTPS TLS settings: tls.https overrides tls.defaults key by key; TLSv1_2 is the default minimum', async () => {
  const f = join(dir({
    'tls.hcl': 'tls {\n  defaults {\n    ca_file = "ca.pem"\n    cert_file = "d.pem"\n    key_file = "d.key"\n    tls_min_version = "TLSv1_3"\n  }\n  https {\n    cert_file = "h.pem"\n    verify_incoming = true\n  }\n}\n',
  }), 'tls.hcl');
  const { config } = await loadAgentConfig([f]);
  assert.deepEqual(resolveHttpsTls(config), { caFile: 'ca.pem', certFile: 'h.pem', keyFile: 'd.key', verifyIncoming: true, verifyOutgoing: false, minVersion: 'TLSv1.3' });
  assert.equal(resolveHttpsTls({}).minVersion, 'TLSv1.2');
});
