import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import {
  appendHeader, deleteHeader, findHeaderKey, getHeader, headerMap, isPrototypeFree, mergeHeaders, prototypeFree, setHeader, type HeaderMap,
} from './headers.ts';
import { readBodyLimited } from './body.ts';

function map(entries: Record<string, string | string[]>): HeaderMap {
  return Object.assign(headerMap(), entries);
}

test('lookups ignore case and never see Object.prototype', () => {
  const h = map({ 'Content-Type': 'text/plain', 'x-a': '1' });
  assert.equal(findHeaderKey(h, 'content-type'), 'Content-Type');
  assert.equal(getHeader(h, 'X-A'), '1');
  assert.equal(getHeader(h, 'constructor'), undefined);
  assert.equal(getHeader({} as HeaderMap, 'constructor'), undefined, 'even on a plain object');
  setHeader(h, 'CONTENT-TYPE', 'application/json');
  assert.deepEqual(Object.entries(h), [['x-a', '1'], ['content-type', 'application/json']]);
  appendHeader(h, 'X-A', '2');
  assert.deepEqual(h['x-a'], ['1', '2']);
  deleteHeader(h, 'X-a');
  assert.equal(getHeader(h, 'x-a'), undefined);
  setHeader(h, '__proto__', 'p');
  assert.equal(getHeader(h, '__proto__'), 'p');
});

for (const into of ['written', 'preset'] as const) {
  test(`merge into ${into}: the preset wins, Set-Cookie accumulates written lines first`, () => {
    const preset = map({ 'x-frame-options': 'DENY', 'Set-Cookie': 'mw=1', 'x-only-preset': 'p' });
    const written = map({ 'X-Frame-Options': 'SAMEORIGIN', 'set-cookie': ['up=1', 'up=2'], 'content-length': '2' });
    const out = mergeHeaders(preset, written, into);
    assert.equal(out, into === 'written' ? written : preset);
    assert.equal(getHeader(out, 'x-frame-options'), 'DENY');
    assert.deepEqual(getHeader(out, 'set-cookie'), ['up=1', 'up=2', 'mw=1']);
    assert.equal(getHeader(out, 'content-length'), '2');
    assert.equal(getHeader(out, 'x-only-preset'), 'p');
    const names = Object.keys(out).map((k) => k.toLowerCase()).sort();
    assert.deepEqual(names, ['content-length', 'set-cookie', 'x-frame-options', 'x-only-preset'], 'one key per header');
  });
}

test('readBodyLimited: whole body, and an overflow that leaves the stream usable', async () => {
  assert.deepEqual(await readBodyLimited(Readable.from([Buffer.from('ab'), 'cd'])), { body: Buffer.from('abcd'), overflow: false });
  assert.deepEqual(await readBodyLimited(Readable.from([Buffer.from('abcd')]), 4), { body: Buffer.from('abcd'), overflow: false });
  const stream = Readable.from([Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')]);
  const read = await readBodyLimited(stream, 4);
  assert.equal(read.overflow, true);
  assert.equal(read.body.toString(), 'abc');
  assert.equal(stream.destroyed, false, 'not destroyed: the caller still answers on the connection');
});

test('prototypeFree maps inherit nothing and their prototype cannot be polluted', () => {
  const h = prototypeFree<Record<string, string>>();
  for (const name of ['__proto__', 'constructor', 'toString']) assert.equal(h[name], undefined, name);
  h['__proto__'] = 'p';
  h['constructor'] = 'c';
  assert.deepEqual(Object.entries(h), [['__proto__', 'p'], ['constructor', 'c']]);
  assert.equal(JSON.stringify(h), '{"__proto__":"p","constructor":"c"}');
  assert.ok(isPrototypeFree(h));
  assert.ok(isPrototypeFree(Object.create(null) as object));
  assert.equal(isPrototypeFree({}), false);
  assert.throws(() => { (Object.getPrototypeOf(h) as Record<string, string>).polluted = 'x'; }, TypeError);
  assert.equal(prototypeFree<Record<string, string>>().polluted, undefined);
});

test('header maps keep fast properties (V8 holds Object.create(null) objects as slow dictionaries)', () => {
  // %HasFastProperties needs --allow-natives-syntax, hence a child node.
  const script = `
    const { headerMap, prototypeFree } = await import(${JSON.stringify(new URL('./headers.ts', import.meta.url).href)});
    const fast = new Function('o', 'return %HasFastProperties(o)');
    const h = headerMap();
    h['content-type'] = 'text/plain'; h['x-a'] = '1'; h['__proto__'] = 'p';
    const data = prototypeFree();
    data.ServiceURL = 'http://127.0.0.1'; data.OriginStatus = 200;
    process.stdout.write(JSON.stringify([fast(h), fast(data)]));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), [true, true]);
});
