/**
 * The piece basicAuth and digestAuth share (Traefik pkg/middlewares/auth: `getUsers` reads `users` then `usersFile`,
 * the file's entry winning; on success the user goes to `headerField` and `removeHeader` drops Authorization).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import './index.ts';
import { build, serveKind } from './testing.ts';

const sha = (password: string) => `{SHA}${createHash('sha1').update(password).digest('base64')}`;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
type Echo = { headers: Record<string, string> };

test('basicAuth: usersFile wins over users; headerField carries the user; removeHeader drops Authorization', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mg-auth-'));
  const file = join(dir, 'users');
  await writeFile(file, `# comment\n\nalice:${sha('from-file')}\n`);
  const s = await serveKind('basicAuth', { users: [`alice:${sha('inline')}`, `bob:${sha('bob')}`], usersFile: file, headerField: 'X-WebAuth-User', removeHeader: true });
  t.after(() => s.close());
  assert.equal((await fetch(s.url, { headers: { authorization: basic('alice', 'inline') } })).status, 401, 'the file entry replaced the inline one');
  const ok = await fetch(s.url, { headers: { authorization: basic('alice', 'from-file') } });
  assert.equal(ok.status, 200);
  const seen = (await ok.json()) as Echo;
  assert.equal(seen.headers['x-webauth-user'], 'alice');
  assert.equal(seen.headers.authorization, undefined);
  assert.equal((await fetch(s.url, { headers: { authorization: basic('bob', 'bob') } })).status, 200);
  assert.throws(() => build('basicAuth', { users: ['# only a comment', ''] }), /basicAuth: no users given/);
  assert.throws(() => build('basicAuth', { users: ['alice'] }), /basicAuth\.users: error parsing user "alice"/);
});

test('digestAuth: the same user loading and forwarding', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mg-auth-'));
  const file = join(dir, 'users');
  await writeFile(file, `alice:traefik:${md5('alice:traefik:from-file')}\nother:elsewhere:${md5('x')}\n`);
  const s = await serveKind('digestAuth', { users: [`alice:traefik:${md5('alice:traefik:inline')}`], usersFile: file, headerField: 'X-WebAuth-User', removeHeader: true });
  t.after(() => s.close());
  const authorize = async (password: string): Promise<Response> => {
    const challenge = (await fetch(`${s.url}/x`)).headers.get('www-authenticate') ?? '';
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const opaque = /opaque="([^"]+)"/.exec(challenge)?.[1];
    const ha1 = md5(`alice:traefik:${password}`);
    const response = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${md5('GET:/x')}`);
    const header = `Digest username="alice", realm="traefik", nonce="${nonce}", uri="/x", qop=auth, nc=00000001, cnonce="c0ffee", response="${response}"${opaque ? `, opaque="${opaque}"` : ''}`;
    return fetch(`${s.url}/x`, { headers: { authorization: header } });
  };
  assert.equal((await authorize('inline')).status, 401, 'the file entry replaced the inline one');
  const ok = await authorize('from-file');
  assert.equal(ok.status, 200);
  const seen = (await ok.json()) as Echo;
  assert.equal(seen.headers['x-webauth-user'], 'alice');
  assert.equal(seen.headers.authorization, undefined);
  assert.throws(() => build('digestAuth', { users: [`x:elsewhere:${md5('x')}`] }), /digestAuth: no users for realm "traefik"/);
});
