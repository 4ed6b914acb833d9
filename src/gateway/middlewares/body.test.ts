import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import zlib from 'node:zlib';
import './index.ts';
import { build, serveHandler } from './testing.ts';
import type { Handler } from '../http/types.ts';
import { GatewayErrors } from '../http/errors.ts';
import { negotiate } from './compress.ts';
import { detectContentType } from './contentType.ts';

const big = 'hello compress '.repeat(200); // 3000 bytes

function upstream(body: string, headers: Record<string, string> = { 'content-type': 'text/plain' }, chunked = false): Handler {
  return async (_req, rw) => {
    rw.writeHead(200, headers);
    if (chunked) {
      for (let i = 0; i < body.length; i += 100) rw.write(body.slice(i, i + 100));
      rw.end();
    } else rw.end(body);
  };
}

async function get(url: string, headers: Record<string, string>) {
  const res = await request(url, { headers });
  const raw = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, raw };
}

test('compress: gzip, br by Accept-Encoding; Vary; small bodies and encoded ones pass through', async () => {
  const s = await serveHandler(build('compress', {})(upstream(big, { 'content-type': 'text/plain', 'content-length': String(big.length) })));
  try {
    const gz = await get(s.url, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers['content-length'], undefined);
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(zlib.gunzipSync(gz.raw).toString(), big);
    const br = await get(s.url, { 'accept-encoding': 'gzip;q=0.5, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(zlib.brotliDecompressSync(br.raw).toString(), big);
    const none = await get(s.url, {});
    assert.equal(none.headers['content-encoding'], undefined);
    assert.equal(none.raw.toString(), big);
    const identity = await get(s.url, { 'accept-encoding': 'identity' });
    assert.equal(identity.headers['content-encoding'], undefined);
  } finally {
    await s.close();
  }
  const small = await serveHandler(build('compress', {})(upstream('tiny', { 'content-type': 'text/plain' }, true)));
  try {
    const r = await get(small.url, { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.raw.toString(), 'tiny');
    assert.equal(r.headers.vary, 'Accept-Encoding');
  } finally {
    await small.close();
  }
  const chunked = await serveHandler(build('compress', { minResponseBodyBytes: 200 })(upstream(big, { 'content-type': 'text/html' }, true)));
  try {
    const r = await get(chunked.url, { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(r.raw).toString(), big);
  } finally {
    await chunked.close();
  }
  const encoded = await serveHandler(build('compress', {})(upstream(big, { 'content-type': 'text/plain', 'content-encoding': 'custom' })));
  try {
    const r = await get(encoded.url, { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'custom');
    assert.equal(r.raw.toString(), big);
  } finally {
    await encoded.close();
  }
});

test('compress: zstd when node has it', { skip: typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync !== 'function' }, async () => {
  const s = await serveHandler(build('compress', {})(upstream(big)));
  try {
    const r = await get(s.url, { 'accept-encoding': 'gzip, br, zstd' });
    assert.equal(r.headers['content-encoding'], 'zstd');
    const decompress = (zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync;
    assert.equal(decompress(r.raw).toString(), big);
  } finally {
    await s.close();
  }
});

test('compress: excluded and included content types; gRPC never', async () => {
  const ex = await serveHandler(build('compress', { excludedContentTypes: ['text/event-stream', 'Application/JSON'] })(upstream(big, { 'content-type': 'application/json; charset=utf-8' })));
  try {
    assert.equal((await get(ex.url, { 'accept-encoding': 'gzip' })).headers['content-encoding'], undefined);
  } finally {
    await ex.close();
  }
  const inc = await serveHandler(build('compress', { includedContentTypes: ['application/json'] })(upstream(big, { 'content-type': 'text/plain' })));
  try {
    assert.equal((await get(inc.url, { 'accept-encoding': 'gzip' })).headers['content-encoding'], undefined);
  } finally {
    await inc.close();
  }
  const grpc = await serveHandler(build('compress', {})(upstream(big, { 'content-type': 'application/grpc' })));
  try {
    assert.equal((await get(grpc.url, { 'accept-encoding': 'gzip' })).headers['content-encoding'], undefined);
  } finally {
    await grpc.close();
  }
  assert.throws(() => build('compress', { excludedContentTypes: ['a/b'], includedContentTypes: ['c/d'] }), /mutually exclusive/);
  assert.throws(() => build('compress', { encodings: ['deflate'] }), /encodings/);
});

test('compress: Accept-Encoding negotiation', () => {
  const all = ['zstd', 'br', 'gzip'] as const;
  assert.equal(negotiate('gzip, br', [...all], undefined), 'br');
  assert.equal(negotiate('gzip;q=1.0, br;q=0.8', [...all], undefined), 'gzip');
  assert.equal(negotiate('*', [...all], undefined), 'zstd');
  assert.equal(negotiate('br;q=0, gzip', [...all], undefined), 'gzip');
  assert.equal(negotiate('', [...all], 'gzip'), undefined);
  assert.equal(negotiate(undefined, [...all], 'gzip'), 'gzip');
  assert.equal(negotiate('deflate', [...all], undefined), undefined);
});

test('buffering: request limit 413, whole response with Content-Length, response limit 500', async () => {
  const echoLen: Handler = async (req, rw) => {
    const body = req.bufferedBody?.toString() ?? '';
    rw.writeHead(200, { 'content-type': 'text/plain' });
    rw.write('got ');
    rw.end(body);
  };
  const s = await serveHandler(build('buffering', { maxRequestBodyBytes: 10 })(echoLen));
  try {
    const ok = await request(s.url, { method: 'POST', body: 'small' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['content-length'], '9');
    assert.equal(await ok.body.text(), 'got small');
    const tooBig = await request(s.url, { method: 'POST', body: 'x'.repeat(100) });
    assert.equal(tooBig.statusCode, 413);
    await tooBig.body.dump();
  } finally {
    await s.close();
  }
  const r = await serveHandler(build('buffering', { maxResponseBodyBytes: 5 })(echoLen));
  try {
    const res = await request(r.url, { method: 'POST', body: 'too long' });
    assert.equal(res.statusCode, 500);
    await res.body.dump();
  } finally {
    await r.close();
  }
});

test('buffering: retryExpression replays the buffered request', async () => {
  let calls = 0;
  const flaky: Handler = async (req, rw) => {
    calls++;
    if (calls === 1) throw GatewayErrors.badGateway();
    rw.writeHead(200);
    rw.end(`attempt ${calls} ${req.bufferedBody?.toString()}`);
  };
  const s = await serveHandler(build('buffering', { retryExpression: 'IsNetworkError() && Attempts() < 2' })(flaky));
  try {
    const res = await request(s.url, { method: 'POST', body: 'data' });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'attempt 2 data');
  } finally {
    await s.close();
  }
  assert.throws(() => build('buffering', { retryExpression: 'Bogus()' }), /unknown function Bogus/);
});

test('contentType: sniffs a missing Content-Type, keeps a given one', async () => {
  const html: Handler = async (_req, rw) => {
    rw.writeHead(200);
    rw.end('<!DOCTYPE html><html><body>hi</body></html>');
  };
  const s = await serveHandler(build('contentType', {})(html));
  try {
    const res = await fetch(s.url);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await res.text(), /<body>hi/);
  } finally {
    await s.close();
  }
  const typed = await serveHandler(build('contentType', {})(upstream('<html>', { 'content-type': 'application/x-custom' })));
  try {
    assert.equal((await fetch(typed.url)).headers.get('content-type'), 'application/x-custom');
  } finally {
    await typed.close();
  }
  assert.equal(detectContentType(Buffer.from('%PDF-1.4')), 'application/pdf');
  assert.equal(detectContentType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'image/png');
  assert.equal(detectContentType(Buffer.from('plain words')), 'text/plain; charset=utf-8');
  assert.equal(detectContentType(Buffer.from([0, 1, 2])), 'application/octet-stream');
});
