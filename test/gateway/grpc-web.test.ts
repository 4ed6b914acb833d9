/**
 * The grpcWeb middleware end to end: a browser-shaped client (fetch over HTTP/1.1, gRPC-Web framing written by
 * hand) calls a @grpc/grpc-js server through the gateway, which talks h2c to it. Behaviour checked against
 * Traefik's pkg/middlewares/grpcweb/grpcweb.go (grpcweb.WrapHandler, origin `*` or exact match) and the wrapper it
 * uses, traefik/grpc-web go/grpcweb/wrapper.go (POST + content-type prefix `application/grpc-web`, `-text` bodies
 * base64-decoded, preflight only when Access-Control-Request-Headers names x-grpc-web) and grpc_web_response.go
 * (content-type renamed, Access-Control-Expose-Headers listing the headers plus Grpc-Status and Grpc-Message,
 * trailers as a final frame with flag 0x80 of lower-case `name: value\r\n` lines, the -text body base64; a
 * Trailers-Only answer keeps grpc-status in the HTTP head as Go's ReverseProxy copies it there).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startGateway, staticYaml, tempDir, eventually } from './helpers.ts';

const PROTO = `
syntax = "proto3";
package web;
message Msg { string text = 1; int32 n = 2; }
service Echo {
  rpc Unary (Msg) returns (Msg);
  rpc Fail (Msg) returns (Msg);
  rpc FailLate (Msg) returns (Msg);
  rpc Count (Msg) returns (stream Msg);
}
`;
const ORIGIN = 'https://app.example';

type Msg = { text: string; n: number };

let server: grpc.Server;
let gw: Awaited<ReturnType<typeof startGateway>>;

before(async () => {
  const dir = await tempDir('mg-grpcweb-');
  await writeFile(join(dir, 'web.proto'), PROTO);
  const definition = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'web.proto'), { defaults: true }));
  const Echo = (definition.web as grpc.GrpcObject).Echo as grpc.ServiceClientConstructor;
  server = new grpc.Server();
  server.addService(Echo.service, {
    Unary(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'kept');
      cb(null, { text: `echo:${call.request.text}`, n: call.request.n + 1 }, trailer);
    },
    Fail(_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      cb({ code: grpc.status.PERMISSION_DENIED, details: 'not you' });
    },
    FailLate(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      // Headers first, so the status can only travel in HTTP/2 trailers (not a Trailers-Only answer).
      call.sendMetadata(new grpc.Metadata());
      setTimeout(() => cb({ code: grpc.status.NOT_FOUND, details: 'gone' }), 20);
    },
    Count(call: grpc.ServerWritableStream<Msg, Msg>) {
      let i = 0;
      const next = (): void => {
        if (i === call.request.n) return void call.end();
        call.write({ text: `item${i}`, n: i });
        i++;
        setImmediate(next);
      };
      next();
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    web:
      rule: PathPrefix(\`/web.Echo/\`)
      service: echo
      middlewares: [grpcweb]
  middlewares:
    grpcweb:
      grpcWeb:
        allowOrigins: ["${ORIGIN}"]
  services:
    echo:
      loadBalancer:
        servers:
          - url: "h2c://127.0.0.1:${port}"
`);
  await writeFile(join(dir, 'gateway.yml'), staticYaml(join(dir, 'dynamic.yml')));
  gw = await startGateway(join(dir, 'gateway.yml'));
});

after(async () => {
  await gw?.close();
  server?.forceShutdown();
});

// --- the browser side, by hand: protobuf for Msg and gRPC-Web's length-prefixed frames ---

function encodeMsg(m: Msg): Buffer {
  const text = Buffer.from(m.text);
  const parts = [Buffer.from([0x0a, text.length]), text];
  if (m.n !== 0) parts.push(Buffer.from([0x10, m.n])); // n < 128 in these tests: one varint byte
  return Buffer.concat(parts);
}

function decodeMsg(b: Buffer): Msg {
  const m: Msg = { text: '', n: 0 };
  for (let i = 0; i < b.length;) {
    const tag = b[i++]!;
    if (tag === 0x0a) {
      const len = b[i++]!;
      m.text = b.subarray(i, i + len).toString();
      i += len;
    } else if (tag === 0x10) {
      m.n = b[i++]!;
    } else {
      throw new Error(`unexpected tag ${tag}`);
    }
  }
  return m;
}

function frame(message: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

interface WebReply {
  status: number;
  headers: Headers;
  messages: Msg[];
  /** The trailer frame's fields (undefined when the body had none). */
  trailers: Record<string, string> | undefined;
  /** Every flag byte in order, to show the trailer frame comes last. */
  flags: number[];
}

function parseFrames(body: Buffer): Pick<WebReply, 'messages' | 'trailers' | 'flags'> {
  const messages: Msg[] = [];
  const flags: number[] = [];
  let trailers: Record<string, string> | undefined;
  for (let i = 0; i < body.length;) {
    const flag = body[i]!;
    const len = body.readUInt32BE(i + 1);
    const payload = body.subarray(i + 5, i + 5 + len);
    assert.equal(payload.length, len, 'frame cut short');
    flags.push(flag);
    if (flag & 0x80) {
      trailers = {};
      for (const line of payload.toString().split('\r\n')) {
        if (line === '') continue;
        const colon = line.indexOf(':');
        trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
    } else {
      messages.push(decodeMsg(payload));
    }
    i += 5 + len;
  }
  return { messages, trailers, flags };
}

/** -text bodies may be several padded base64 parts: decode each part on its own. */
function decodeBase64Parts(text: string): Buffer {
  const parts = text.match(/[A-Za-z0-9+/]*={0,2}/g)!.filter((p) => p !== '');
  return Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')));
}

async function call(method: string, request: Msg, kind: 'proto' | 'plain' | 'text' = 'proto'): Promise<WebReply> {
  const contentType = { proto: 'application/grpc-web+proto', plain: 'application/grpc-web', text: 'application/grpc-web-text' }[kind];
  const body = frame(encodeMsg(request));
  const res = await fetch(`${gw.web}/web.Echo/${method}`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-grpc-web': '1', accept: contentType, origin: ORIGIN },
    body: kind === 'text' ? body.toString('base64') : body,
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const bytes = kind === 'text' ? decodeBase64Parts(raw.toString('latin1')) : raw;
  return { status: res.status, headers: res.headers, ...parseFrames(bytes) };
}

test('grpc-web unary (+proto and plain): message, then grpc-status 0 and custom metadata in the trailer frame', async () => {
  for (const kind of ['proto', 'plain'] as const) {
    const r = await eventually(() => call('Unary', { text: 'hi', n: 6 }, kind));
    assert.equal(r.status, 200);
    // grpc-js answers `application/grpc+proto` to both; the wrapper renames the prefix only.
    assert.equal(r.headers.get('content-type'), 'application/grpc-web+proto');
    assert.deepEqual(r.messages, [{ text: 'echo:hi', n: 7 }]);
    assert.deepEqual(r.flags, [0, 0x80]);
    assert.equal(r.trailers?.['grpc-status'], '0');
    assert.equal(r.trailers?.['x-trailer'], 'kept');
    // CORS on the actual request for an allowed origin, and the head names what a browser script may read.
    assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    const exposed = r.headers.get('access-control-expose-headers')!.split(', ');
    assert.ok(exposed.includes('Grpc-Status') && exposed.includes('Grpc-Message') && exposed.includes('Content-Type'), exposed.join());
  }
});

test('grpc-web error status: in the trailer frame after headers, in the head for a Trailers-Only answer', async () => {
  const late = await eventually(() => call('FailLate', { text: '', n: 0 }));
  assert.equal(late.status, 200);
  assert.deepEqual(late.messages, []);
  assert.deepEqual(late.flags, [0x80]);
  assert.equal(late.trailers?.['grpc-status'], String(grpc.status.NOT_FOUND));
  assert.equal(late.trailers?.['grpc-message'], 'gone');

  const denied = await call('Fail', { text: '', n: 0 });
  assert.equal(denied.status, 200);
  assert.equal(denied.headers.get('grpc-status'), String(grpc.status.PERMISSION_DENIED));
  assert.equal(denied.headers.get('grpc-message'), 'not%20you'); // gRPC's percent-encoding, passed on as is
  assert.deepEqual(denied.flags, []);
});

test('grpc-web server streaming: every message in order, then the trailer frame', async () => {
  const r = await eventually(() => call('Count', { text: '', n: 30 }));
  assert.equal(r.messages.length, 30);
  assert.deepEqual(r.messages[29], { text: 'item29', n: 29 });
  assert.deepEqual(r.messages.map((m) => m.n), [...Array(30).keys()]);
  assert.equal(r.flags.at(-1), 0x80);
  assert.equal(r.flags.filter((f) => f === 0x80).length, 1);
  assert.equal(r.trailers?.['grpc-status'], '0');
});

test('grpc-web-text: base64 request decoded for the server, base64 response with the trailer frame', async () => {
  const r = await eventually(() => call('Unary', { text: 'txt', n: 1 }, 'text'));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/grpc-web-text+proto');
  assert.deepEqual(r.messages, [{ text: 'echo:txt', n: 2 }]);
  assert.equal(r.trailers?.['grpc-status'], '0');

  const stream = await call('Count', { text: '', n: 5 }, 'text');
  assert.deepEqual(stream.messages.map((m) => m.text), ['item0', 'item1', 'item2', 'item3', 'item4']);
  assert.equal(stream.trailers?.['grpc-status'], '0');
});

test('grpc-web CORS preflight: an allowed origin gets rs/cors headers, another origin gets none', async () => {
  const preflight = (origin: string) => fetch(`${gw.web}/web.Echo/Unary`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent' },
  });
  const ok = await eventually(async () => {
    const res = await preflight(ORIGIN);
    assert.equal(res.status, 204);
    return res;
  });
  assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
  assert.equal(ok.headers.get('access-control-allow-methods'), 'POST');
  assert.equal(ok.headers.get('access-control-allow-headers'), 'content-type,x-grpc-web,x-user-agent');
  assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(ok.headers.get('access-control-max-age'), '600');

  const other = await preflight('https://evil.example');
  assert.equal(other.status, 204);
  assert.equal(other.headers.get('access-control-allow-origin'), null);

  // An actual request from a refused origin still reaches the service (CORS is the browser's to enforce) but
  // carries no allow-origin header.
  const res = await fetch(`${gw.web}/web.Echo/Unary`, {
    method: 'POST',
    headers: { 'content-type': 'application/grpc-web+proto', origin: 'https://evil.example' },
    body: frame(encodeMsg({ text: 'x', n: 0 })),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), null);
  await res.arrayBuffer();
});
