/**
 * `meshgate validate` and `meshgate server -config-file/-config-dir` from the outside: Consul's validate command
 * (command/validate/validate.go: "Configuration is valid!" and 0, "Config validation failed: …" and 1, `-quiet`,
 * "Must specify at least one config file or directory"), and flags overriding the files (agent/config/builder.go
 * merges the command-line flags last) on a real server process with its HTTPS API turned on by the file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverOptionsFrom, SERVER_FLAG_DEFAULTS, type ServerFlags } from '../../src/cli/server-options.ts';
import { readConfigSources } from '../../src/agent/config-files.ts';
import { loadAgentConfig, type AgentConfig } from '../../src/lib/agent-config/index.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { tempDir } from '../helpers/server.ts';
import { createTestPki, type TestPki } from '../helpers/test-pki.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = tempDir('mg-agent-config-cli-');
let pki: TestPki;
before(() => {
  pki = createTestPki(dir.path);
});
after(() => dir.remove());

interface Run { code: number | null; stdout: string; stderr: string }
function run(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function write(name: string, text: string): string {
  const path = join(dir.path, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

test('validate: a valid directory exits 0 with "Configuration is valid!"; -quiet prints nothing', async () => {
  const conf = join(dir.path, 'valid.d');
  write('valid.d/10-base.hcl', 'datacenter = "dc1"\nacl {\n  enabled = true\n  default_policy = "deny"\n}\n');
  write('valid.d/20-more.json', '{"node_name":"n1","ports":{"dns":-1}}');
  assert.deepEqual(await run(['validate', conf]), { code: 0, stdout: 'Configuration is valid!\n', stderr: '' });
  assert.deepEqual(await run(['validate', '-quiet', conf]), { code: 0, stdout: '', stderr: '' });
});

test('validate: problems exit 1 naming key and file; no argument is a usage error', async () => {
  const bad = write('bad.hcl', 'acl {\n  enabled = true\n  tokens {\n    initial_managment = "x"\n  }\n}\nencrypt = "k"\n');
  const result = await run(['validate', bad]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^Config validation failed: 2 problems:\n/);
  assert.ok(result.stderr.includes(`unknown key: acl.tokens.initial_managment (${bad})`), result.stderr);
  assert.ok(result.stderr.includes(`not supported by meshgate: encrypt (${bad})`), result.stderr);
  // Checks that need the whole configuration run too: HTTPS without a certificate cannot work.
  const noCert = write('nocert.json', '{"ports":{"https":8501}}');
  const https = await run(['validate', noCert]);
  assert.equal(https.code, 1);
  assert.match(https.stderr, /^Config validation failed: ports\.https is set but tls\.defaults \(or tls\.https\) has no cert_file and key_file\n$/);
  const none = await run(['validate']);
  assert.deepEqual(none, { code: 1, stdout: '', stderr: 'Must specify at least one config file or directory\n' });
});

test('validate: a client agent\'s file is valid too — its own keys are checked by the agent\'s reader', async () => {
  // Consul has one builder for server and client files (agent/config/builder.go), so `consul validate` takes both; a
  // client's node_meta, advertise_addr, sidecar port range and template blocks were refused here as unknown before.
  const client = write('client.hcl', [
    'node_name = "vm-1"', 'advertise_addr = "127.0.0.1"', 'node_meta { rack = "r1" }', 'enable_script_checks = true',
    'retry_join = ["127.0.0.1"]', 'ports {', '  sidecar_min_port = 21000', '  sidecar_max_port = 21010', '}',
    'service {', '  name = "web"', '  port = 8080', '  check {', '    http = "http://127.0.0.1:8080/health"', '    interval = "10s"', '  }', '}',
    'template {', '  contents = "{{ key \\"app/config\\" }}"', '  destination = "/tmp/out.conf"', '}',
    'spiffe_workload_api {', '  socket = "/tmp/wl.sock"', '  service = "web"', '}', '',
  ].join('\n'));
  assert.deepEqual(await run(['validate', client]), { code: 0, stdout: 'Configuration is valid!\n', stderr: '' });
  // Still checked, by the agent's reader: a bad value of one of its keys, a template without a destination.
  const badMeta = write('client-bad-meta.hcl', 'node_meta = "rack-1"\n');
  const meta = await run(['validate', badMeta]);
  assert.equal(meta.code, 1);
  assert.ok(meta.stderr.includes('"node_meta" must be an object'), meta.stderr);
  const badTemplate = write('client-bad-template.hcl', 'template {\n  contents = "x"\n}\n');
  const template = await run(['validate', badTemplate]);
  assert.equal(template.code, 1);
  assert.ok(template.stderr.includes('"destination" is required'), template.stderr);
  // A server key beside them is still checked by the shared schema.
  const typo = write('client-typo.hcl', 'node_meta { rack = "r1" }\nports {\n  sidecar_min_port = 21000\n  htp = 1\n}\n');
  const typoRun = await run(['validate', typo]);
  assert.equal(typoRun.code, 1);
  assert.ok(typoRun.stderr.includes(`unknown key: ports.htp (${typo})`), typoRun.stderr);
});

test('one reader for server, agent and validate: an empty JSON file fails all three with the same problem', async () => {
  // Consul's config.Parse decodes JSON with json.Unmarshal, which refuses empty input ("unexpected end of JSON
  // input"); the client agent's own reader took an empty .json file as {} before, so the agent started on a file
  // that `meshgate validate` and the server refused.
  const empty = write('empty.d/10-empty.json', '');
  const problem = `failed to parse ${empty}: Unexpected end of JSON input`;
  const validated = await run(['validate', empty]);
  assert.equal(validated.code, 1);
  assert.ok(validated.stderr.includes(problem), validated.stderr);
  await assert.rejects(loadAgentConfig([empty]), (err: Error) => err.message.includes(problem));
  await assert.rejects(readConfigSources({ files: [], dirs: [join(empty, '..')] }), (err: Error) => err.message.includes(problem));
  // An empty HCL file is an empty configuration everywhere (hcl.Decode of nothing), and a directory of one reads the same.
  const emptyHcl = write('empty-hcl.d/10-empty.hcl', '');
  assert.deepEqual(await run(['validate', emptyHcl]), { code: 0, stdout: 'Configuration is valid!\n', stderr: '' });
  assert.deepEqual(await readConfigSources({ files: [], dirs: [join(emptyHcl, '..')] }), [{ file: emptyHcl, doc: {} }]);
});

test('flags given on the command line win over the files; files win over flag defaults', () => {
  const file: AgentConfig = {
    datacenter: 'dc-file', node_name: 'node-file', data_dir: '/var/file', domain: 'file.', log_level: 'ERR',
    client_addr: '127.0.0.2', ports: { http: 18500, dns: 18600 },
    acl: { enabled: true, default_policy: 'deny', token_ttl: '30s', tokens: { initial_management: 'root', dns: 'dns-token' } },
  };
  const flags: ServerFlags = { ...SERVER_FLAG_DEFAULTS, store: 'sqlite', nodeName: 'node-flag', dataDir: '/var/flag', dnsPort: '-1' };
  const given = new Set<keyof ServerFlags>(['nodeName', 'dataDir', 'dnsPort']);
  const options = serverOptionsFrom(flags, (f) => given.has(f), file);
  assert.equal(options.nodeName, 'node-flag');
  assert.equal(options.dataDir, '/var/flag');
  assert.equal(options.ports?.dns, -1);
  assert.equal(options.dnsBestEffort, false);
  assert.equal(options.datacenter, 'dc-file');
  assert.equal(options.domain, 'file.');
  assert.equal(options.logLevel, 'error');
  assert.equal(options.httpAddr, '127.0.0.2:18500');
  assert.deepEqual(options.acl, { enabled: true, defaultPolicy: 'deny', tokenTtlMs: 30_000, tokens: { initialManagement: 'root', dns: 'dns-token' } });
  // -http-addr on the command line replaces client_addr and ports.http together.
  const withAddr = serverOptionsFrom({ ...flags, httpAddr: '127.0.0.3:9' }, (f) => f === 'httpAddr', file);
  assert.equal(withAddr.httpAddr, '127.0.0.3:9');
  // Without files, every flag default stands.
  const bare = serverOptionsFrom({ ...SERVER_FLAG_DEFAULTS, store: 'sqlite' }, () => false, {});
  assert.equal(bare.httpAddr, SERVER_FLAG_DEFAULTS.httpAddr);
  assert.equal(bare.ports?.dns, 8600);
  assert.equal(bare.dnsBestEffort, true);
  assert.throws(() => serverOptionsFrom(flags, () => false, { server: false }), /server = false describes a client agent/);
});

test('the server reads ports.sidecar_min_port / sidecar_max_port for its agent\'s sidecars; a reversed range is refused in Consul\'s words', async () => {
  // agent/config/builder.go: "sidecar_min_port must be less than sidecar_max_port. To disable, set both to zero."
  const flags: ServerFlags = { ...SERVER_FLAG_DEFAULTS, store: 'sqlite' };
  assert.deepEqual(serverOptionsFrom(flags, () => false, { ports: { sidecar_min_port: 30000, sidecar_max_port: 30009 } }).sidecarPorts, { min: 30000, max: 30009 });
  assert.deepEqual(serverOptionsFrom(flags, () => false, { ports: { sidecar_max_port: 21010 } }).sidecarPorts, { min: 21000, max: 21010 });
  assert.deepEqual(serverOptionsFrom(flags, () => false, { ports: { sidecar_min_port: 0, sidecar_max_port: 0 } }).sidecarPorts, { min: 0, max: 0 });
  assert.equal(serverOptionsFrom(flags, () => false, {}).sidecarPorts, undefined);
  assert.throws(() => serverOptionsFrom(flags, () => false, { ports: { sidecar_min_port: 30010, sidecar_max_port: 30000 } }),
    /ports\.sidecar_min_port \(30010\) must be less than ports\.sidecar_max_port \(30000\)\. To disable, set both to zero\./);
  // The keys load from a file (they were refused as "not supported by meshgate" before).
  const file = join(dir.path, 'sidecar-ports.hcl');
  writeFileSync(file, 'ports {\n  sidecar_min_port = 31000\n  sidecar_max_port = 31001\n}\n');
  const loaded = await loadAgentConfig([file]);
  assert.deepEqual(loaded.config.ports, { sidecar_min_port: 31000, sidecar_max_port: 31001 });
});

test('meshgate server reads -config-file and -config-dir: a flag overrides the file, the file turns HTTPS on and registers its services', async (t) => {
  const conf = join(dir.path, 'server.d');
  write('server.d/00-base.hcl', [
    'datacenter = "dc-file"',
    'node_name = "node-from-file"',
    'client_addr = "127.0.0.1"',
    'ports {', '  http = 0', '  https = 0', '  dns = -1', '}',
    'tls {', '  defaults {', `    ca_file = "${pki.caFile}"`, `    cert_file = "${pki.serverCert}"`, `    key_file = "${pki.serverKey}"`, '  }', '}',
    '',
  ].join('\n'));
  write('server.d/10-web.hcl', 'service {\n  name = "web"\n  port = 8080\n  check {\n    ttl = "30s"\n  }\n}\n');
  const extra = write('extra.json', JSON.stringify({ log_level: 'warn', checks: [{ id: 'mem', name: 'Memory', ttl: '1m' }] }));
  const child = spawn(process.execPath, [MAIN, 'server', '-dev', '-config-dir', conf, '-config-file', extra, '-node-name', 'node-from-flag'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHGATE_LOG_FORMAT: 'json' },
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await waitFor(() => /HTTPS API: https:\/\/\S+/.test(out) || child.exitCode !== null, 'the server to print its URLs', { deadlineMs: 30_000, intervalMs: 50 });
  const m = /HTTP API: (http:\/\/\S+), HTTPS API: (https:\/\/\S+)/.exec(out);
  assert.ok(m, out);
  const self = (await (await fetch(`${m[1]}/v1/agent/self`)).json()) as { Config: { NodeName: string; Datacenter: string } };
  assert.equal(self.Config.NodeName, 'node-from-flag');
  assert.equal(self.Config.Datacenter, 'dc-file');
  // The files' service and check definitions are registered with the server's own agent, as a Consul server does.
  const services = (await (await fetch(`${m[1]}/v1/agent/services`)).json()) as Record<string, { Service: string; Port: number }>;
  assert.deepEqual(Object.values(services).map((s) => [s.Service, s.Port]), [['web', 8080]]);
  const checks = (await (await fetch(`${m[1]}/v1/agent/checks`)).json()) as Record<string, { Name: string; ServiceName: string }>;
  assert.deepEqual(Object.values(checks).map((c) => [c.Name, c.ServiceName]).sort(), [['Memory', ''], ["Service 'web' check", 'web']]);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${m[2]}/v1/status/leader`, { ca: readFileSync(pki.caFile), agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 200);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
});
