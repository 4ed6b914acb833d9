/**
 * `meshgate acl …` against a real server with ACLs on (default deny), run in process through `main()`: bootstrap
 * (printing the token in Consul's `Label:  value` layout, command/acl/token/formatter.go), policies from `-rules @file`
 * and stdin, tokens linked by policy name with a service identity (`-service-identity web:dc1`), roles, update,
 * clone, read `-self`, list, delete, and the token taken from `-token`, `-token-file`, `CONSUL_HTTP_TOKEN` and
 * `MESHGATE_HTTP_TOKEN` (Consul's api.NewClient reads a token file over a token).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { tempDir } from '../helpers/server.ts';

let server: RunningServer;
const dir = tempDir('meshgate-acl-cli-');
let management = '';

before(async () => {
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny' } }, silentLogger());
});
after(async () => {
  await server?.close();
  dir.remove();
});

async function cli(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { MESHGATE_HTTP_ADDR: server.url, ...env },
    readStdin: async () => Buffer.from(stdin),
  };
  const code = await main(args, io);
  return { code, out, err };
}

const field = (out: string, label: string): string => new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(out)?.[1] ?? '';

test('acl bootstrap prints the management token; a second bootstrap fails with Consul\'s reason', async () => {
  const first = await cli(['acl', 'bootstrap']);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /^AccessorID:\s+[0-9a-f-]{36}$/m);
  assert.match(first.out, /^Policies:\n {3}00000000-0000-0000-0000-000000000001 - global-management$/m);
  management = field(first.out, 'SecretID');
  assert.match(management, /^[0-9a-f-]{36}$/);
  const again = await cli(['acl', 'bootstrap']);
  assert.equal(again.code, 1);
  assert.match(again.err, /Failed to bootstrap ACLs: Unexpected response code: 403 \(Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)\)/);
});

test('policy create from @file and stdin, read by name, update, list', async () => {
  const file = join(dir.path, 'kv.hcl');
  writeFileSync(file, 'key_prefix "app/" {\n  policy = "read"\n}\n');
  const created = await cli(['acl', 'policy', 'create', '-name', 'kv-app', '-description', 'app keys', '-rules', `@${file}`, '-token', management]);
  assert.equal(created.code, 0, created.err);
  assert.equal(field(created.out, 'Name'), 'kv-app');
  assert.match(created.out, /^Rules:\nkey_prefix "app\/" \{/m);
  const fromStdin = await cli(['acl', 'policy', 'create', '-name', 'acl-read', '-rules', '-', '-token', management], {}, 'acl = "read"');
  assert.equal(fromStdin.code, 0, fromStdin.err);
  const bad = await cli(['acl', 'policy', 'create', '-name', 'bad', '-rules', 'key "x" { policy = "nope" }', '-token', management]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /Failed to create new policy: Unexpected response code: 400 \(Invalid Policy: Invalid key "x" policy: "nope"/);
  const updated = await cli(['acl', 'policy', 'update', '-name', 'kv-app', '-description', 'app keys v2', '-token', management]);
  assert.equal(updated.code, 0, updated.err);
  assert.equal(field(updated.out, 'Description'), 'app keys v2');
  assert.match(updated.out, /key_prefix "app\/"/, 'rules kept when not given');
  const read = await cli(['acl', 'policy', 'read', '-name', 'kv-app', '-format', 'json', '-token', management]);
  assert.equal(JSON.parse(read.out).Description, 'app keys v2');
  const list = await cli(['acl', 'policy', 'list', '-token', management]);
  assert.match(list.out, /^global-management:$/m);
  assert.match(list.out, /^kv-app:$/m);
});

test('token create, read -self through each token source, update, clone, list, delete', async () => {
  const created = await cli(['acl', 'token', 'create', '-description', 'web', '-policy-name', 'acl-read', '-service-identity', 'web:dc1', '-token', management]);
  assert.equal(created.code, 0, created.err);
  const accessor = field(created.out, 'AccessorID');
  const secret = field(created.out, 'SecretID');
  assert.match(created.out, /^Service Identities:\n {3}web \(Datacenters: dc1\)$/m);

  const file = join(dir.path, 'token');
  writeFileSync(file, `${secret}\n`);
  for (const [how, args, env] of [
    ['-token', ['-token', secret], {}],
    ['-token-file', ['-token-file', file], {}],
    ['CONSUL_HTTP_TOKEN', [], { CONSUL_HTTP_TOKEN: secret }],
    ['MESHGATE_HTTP_TOKEN', [], { MESHGATE_HTTP_TOKEN: secret }],
    ['CONSUL_HTTP_TOKEN_FILE over CONSUL_HTTP_TOKEN', [], { CONSUL_HTTP_TOKEN: management, CONSUL_HTTP_TOKEN_FILE: file }],
  ] as const) {
    const self = await cli(['acl', 'token', 'read', '-self', ...args], env);
    assert.equal(self.code, 0, `${how}: ${self.err}`);
    assert.equal(field(self.out, 'AccessorID'), accessor, how);
  }
  const anonymous = await cli(['acl', 'token', 'read', '-self']);
  assert.equal(anonymous.code, 1, 'no token: the anonymous token has no secret to read itself with');

  const asReader = await cli(['acl', 'token', 'read', '-id', accessor, '-token', secret]);
  assert.equal(field(asReader.out, 'SecretID'), '<hidden>', 'acl:read alone does not see secrets');

  const role = await cli(['acl', 'role', 'create', '-name', 'kv-reader', '-policy-name', 'kv-app', '-token', management]);
  assert.equal(role.code, 0, role.err);
  const updated = await cli(['acl', 'token', 'update', '-id', accessor, '-role-name', 'kv-reader', '-description', 'web v2', '-token', management]);
  assert.equal(updated.code, 0, updated.err);
  assert.equal(field(updated.out, 'Description'), 'web v2');
  assert.match(updated.out, /^Roles:\n {3}[0-9a-f-]{36} - kv-reader$/m);
  assert.match(updated.out, /^Policies:\n {3}[0-9a-f-]{36} - acl-read$/m, 'policies kept when not given');

  const clone = await cli(['acl', 'token', 'clone', '-id', accessor, '-description', 'copy', '-token', management]);
  assert.equal(clone.code, 0, clone.err);
  const cloneAccessor = field(clone.out, 'AccessorID');
  assert.notEqual(cloneAccessor, accessor);

  const list = await cli(['acl', 'token', 'list', '-format', 'json', '-token', management]);
  const accessors = (JSON.parse(list.out) as Array<{ AccessorID: string }>).map((t) => t.AccessorID);
  assert.ok(accessors.includes(accessor) && accessors.includes(cloneAccessor));

  const deleted = await cli(['acl', 'token', 'delete', '-id', cloneAccessor, '-token', management]);
  assert.equal(deleted.code, 0, deleted.err);
  assert.equal(deleted.out.trim(), `Token "${cloneAccessor}" deleted successfully`);
  const gone = await cli(['acl', 'token', 'read', '-self', '-token', field(clone.out, 'SecretID')]);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /403 \(ACL not found\)/);

  const roleRead = await cli(['acl', 'role', 'read', '-name', 'kv-reader', '-token', management]);
  assert.match(roleRead.out, /^Policies:\n {3}[0-9a-f-]{36} - kv-app$/m);
  const roleDelete = await cli(['acl', 'role', 'delete', '-name', 'kv-reader', '-token', management]);
  assert.equal(roleDelete.code, 0, roleDelete.err);
  const noToken = await cli(['acl', 'policy', 'list']);
  assert.equal(noToken.code, 1);
  assert.match(noToken.err, /403 \(Permission denied: anonymous token lacks permission 'acl:read'/);
});
