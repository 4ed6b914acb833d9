/**
 * `meshgate acl auth-method|binding-rule …`, `meshgate login` and `meshgate logout` against a real server with ACLs
 * on, run in process through `main()`. Behaviour from Consul's command/acl/authmethod, command/acl/bindingrule
 * (flags, "deleted successfully" lines, `-format json`), command/login (`-method`, `-bearer-token-file`,
 * `-token-sink-file` written with mode 0600, no output; the request carries no token even when the environment has
 * one) and command/logout ("Error destroying token: …" when the token was not made by a login).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { tempDir } from '../helpers/server.ts';

const ROOT = randomUUID();
const dir = tempDir('mg-acl-auth-cli-');
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let server: RunningServer;
before(async () => {
  server = await startServer(
    { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: ROOT } } },
    silentLogger(),
  );
});
after(async () => {
  await server?.close();
  dir.remove();
});

interface Run { code: number; stdout: string; stderr: string }
async function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const io = {
    stdout: '',
    stderr: '',
    env: { CONSUL_HTTP_ADDR: server.url, ...env },
    out(text: string) { io.stdout += text; },
    err(text: string) { io.stderr += text; },
    readStdin: async () => Buffer.alloc(0),
  } satisfies CliIO & { stdout: string; stderr: string };
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

const asRoot = { CONSUL_HTTP_TOKEN: ROOT };

test('auth methods and binding rules through the CLI, then login and logout with files', async () => {
  const config = join(dir.path, 'config.json');
  writeFileSync(config, JSON.stringify({
    JWTValidationPubKeys: [keys.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    JWTSupportedAlgs: ['ES256'],
    BoundIssuer: 'ci',
    ClaimMappings: { sub: 'service' },
  }));
  const created = await run(['acl', 'auth-method', 'create', '-type', 'jwt', '-name', 'ci', '-description', 'CI jobs', '-max-token-ttl', '10m', '-config', `@${config}`], asRoot);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^Name: +ci\nType: +jwt\nDescription: +CI jobs\nMaxTokenTTL: +10m0s\nConfig:\n\{\n {4}"JWTValidationPubKeys"/);
  const dup = await run(['acl', 'auth-method', 'create', '-name', 'x'], asRoot);
  assert.deepEqual([dup.code, dup.stderr], [1, 'Missing required \'-type\' flag\n']);
  const denied = await run(['acl', 'auth-method', 'list']);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /^Failed to retrieve the auth method list: Unexpected response code: 403 \(Permission denied: anonymous token lacks permission 'acl:read'/);

  const updated = await run(['acl', 'auth-method', 'update', '-name', 'ci', '-description', 'CI and CD', '-format', 'json'], asRoot);
  assert.equal(updated.code, 0, updated.stderr);
  const json = JSON.parse(updated.stdout) as { Description: string; MaxTokenTTL: string; Config: { BoundIssuer: string } };
  assert.equal(json.Description, 'CI and CD');
  assert.equal(json.MaxTokenTTL, '10m0s', 'an update merges into the current method');
  assert.equal(json.Config.BoundIssuer, 'ci');
  const list = await run(['acl', 'auth-method', 'list'], asRoot);
  assert.match(list.stdout, /^ci:\nName: +ci\nType: +jwt\n/);

  const rule = await run(['acl', 'binding-rule', 'create', '-method', 'ci', '-bind-type', 'service', '-bind-name', 'job-${value.service}', '-selector', 'value.service != ""'], asRoot);
  assert.equal(rule.code, 0, rule.stderr);
  const ruleId = /^ID: +(\S+)$/m.exec(rule.stdout)?.[1];
  assert.ok(ruleId, rule.stdout);
  assert.match(rule.stdout, /BindName: +job-\$\{value\.service\}\nSelector: +value\.service != ""/);
  const badRule = await run(['acl', 'binding-rule', 'create', '-method', 'ci', '-bind-type', 'service', '-bind-name', '${value.nope}'], asRoot);
  assert.equal(badRule.code, 1);
  assert.match(badRule.stderr, /^Failed to create new binding rule: Unexpected response code: 400 \(Invalid Binding Rule: invalid BindName: .*unknown variable accessed: value\.nope\)/);
  const rules = await run(['acl', 'binding-rule', 'list', '-method', 'ci', '-format', 'json'], asRoot);
  assert.deepEqual((JSON.parse(rules.stdout) as Array<{ ID: string }>).map((r) => r.ID), [ruleId]);

  // login: the bearer token from a file, the secret to a 0600 sink; a token in the environment is not sent.
  const bearer = join(dir.path, 'jwt');
  const now = Math.floor(Date.now() / 1000);
  writeFileSync(bearer, `${await new SignJWT({ sub: 'deploy' }).setProtectedHeader({ alg: 'ES256' }).setIssuer('ci').setIssuedAt(now).setExpirationTime(now + 300).sign(keys.privateKey)}\n`);
  const sink = join(dir.path, 'token');
  const login = await run(['login', '-method', 'ci', '-bearer-token-file', bearer, '-token-sink-file', sink, '-meta', 'job=42'], asRoot);
  assert.deepEqual(login, { code: 0, stdout: '', stderr: '' });
  const secret = readFileSync(sink, 'utf8');
  assert.match(secret, /^[0-9a-f-]{36}$/);
  assert.equal(statSync(sink).mode & 0o777, 0o600);
  const self = (await (await fetch(`${server.url}/v1/acl/token/self`, { headers: { 'X-Consul-Token': secret } })).json()) as Record<string, unknown>;
  assert.deepEqual(self.ServiceIdentities, [{ ServiceName: 'job-deploy' }]);
  assert.equal(self.Description, 'token created via login: {"job":"42"}');

  const missing = await run(['login', '-method', 'ci', '-bearer-token-file', bearer]);
  assert.deepEqual([missing.code, missing.stderr], [1, 'Missing required \'-token-sink-file\' flag\n']);
  writeFileSync(join(dir.path, 'empty'), '\n');
  const empty = await run(['login', '-method', 'ci', '-bearer-token-file', join(dir.path, 'empty'), '-token-sink-file', sink]);
  assert.deepEqual([empty.code, empty.stderr], [1, `No bearer token found in ${join(dir.path, 'empty')}\n`]);

  // logout: with the login token (from -token-file), then again (gone), and with a token not made by login.
  assert.deepEqual(await run(['logout', '-token-file', sink]), { code: 0, stdout: '', stderr: '' });
  const again = await run(['logout', '-token-file', sink]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^Error destroying token: .*403.*ACL not found/);
  const notLogin = await run(['logout'], asRoot);
  assert.equal(notLogin.code, 1);
  assert.match(notLogin.stderr, /^Error destroying token: .*403.*Permission denied/);

  assert.deepEqual(await run(['acl', 'binding-rule', 'delete', '-id', ruleId], asRoot), { code: 0, stdout: `Binding rule "${ruleId}" deleted successfully\n`, stderr: '' });
  assert.deepEqual(await run(['acl', 'auth-method', 'delete', '-name', 'ci'], asRoot), { code: 0, stdout: 'Auth-method "ci" deleted successfully\n', stderr: '' });
  const read = await run(['acl', 'auth-method', 'read', '-name', 'ci'], asRoot);
  assert.deepEqual([read.code, read.stderr], [1, 'Auth method not found with name "ci"\n']);
});
