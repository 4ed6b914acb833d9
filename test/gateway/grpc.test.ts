/**
 * gRPC end to end through the gateway, as Traefik documents it (docs "gRPC examples": an `h2c://` server behind a
 * router; pkg/proxy/httputil builds an HTTP/2 transport for the h2c scheme): a @grpc/grpc-js client talks to the
 * gateway — h2c with prior knowledge on a plain entry point, h2 by ALPN on a TLS router — and the gateway talks h2c
 * to a @grpc/grpc-js server. Unary, server streaming and bidi calls pass; status codes, messages and custom trailing
 * metadata come back unchanged; a deadline shorter than the server's work ends in DEADLINE_EXCEEDED.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { makeCertificate } from '../helpers/tls-fixture.ts';
import { startGateway, staticYaml, tempDir, eventually } from './helpers.ts';

const PROTO = `
syntax = "proto3";
package echo;
message Msg { string text = 1; int32 n = 2; }
service Echo {
  rpc Unary (Msg) returns (Msg);
  rpc Fail (Msg) returns (Msg);
  rpc Slow (Msg) returns (Msg);
  rpc Count (Msg) returns (stream Msg);
  rpc Chat (stream Msg) returns (stream Msg);
}
`;

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
type Msg = { text: string; n: number };

let dir: string;
let server: grpc.Server;
let gw: Awaited<ReturnType<typeof startGateway>>;
let EchoClient: grpc.ServiceClientConstructor;
let certPem: string;

before(async () => {
  dir = await tempDir('mg-grpc-');
  await writeFile(join(dir, 'echo.proto'), PROTO);
  const definition = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'echo.proto'), { defaults: true }));
  EchoClient = (definition.echo as grpc.GrpcObject).Echo as grpc.ServiceClientConstructor;
  server = new grpc.Server();
  server.addService(EchoClient.service, {
    Unary(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'kept');
      cb(null, { text: `echo:${call.request.text}:${String(call.metadata.get('x-client')[0] ?? '')}`, n: call.request.n }, trailer);
    },
    Fail(_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      const metadata = new grpc.Metadata();
      metadata.set('x-reason', 'because');
      cb({ code: grpc.status.PERMISSION_DENIED, details: 'not you', metadata });
    },
    Slow(_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      setTimeout(() => cb(null, { text: 'late', n: 0 }), 3000).unref();
    },
    Count(call: grpc.ServerWritableStream<Msg, Msg>) {
      for (let i = 0; i < call.request.n; i++) call.write({ text: `item${i}`, n: i });
      call.end();
    },
    Chat(call: grpc.ServerDuplexStream<Msg, Msg>) {
      call.on('data', (m: Msg) => call.write({ text: m.text.toUpperCase(), n: m.n * 2 }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });

  certPem = makeCertificate(dir, 'tls', { cn: 'grpc.example.com' }).cert;
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    grpc:
      rule: PathPrefix(\`/echo.Echo/\`)
      service: echo
    grpc-tls:
      rule: Host(\`grpc.example.com\`)
      service: echo
      tls: {}
  services:
    echo:
      loadBalancer:
        servers:
          - url: "h2c://127.0.0.1:${port}"
tls:
  certificates:
    - certFile: "${join(dir, 'tls.crt')}"
      keyFile: "${join(dir, 'tls.key')}"
`);
  await writeFile(join(dir, 'gateway.yml'), staticYaml(join(dir, 'dynamic.yml')));
  gw = await startGateway(join(dir, 'gateway.yml'));
});

after(async () => {
  await gw?.close();
  server?.forceShutdown();
});

function plainClient(): Client {
  return new EchoClient(`127.0.0.1:${gw.addresses().web!.port}`, grpc.credentials.createInsecure()) as unknown as Client;
}

function tlsClient(): Client {
  return new EchoClient(`127.0.0.1:${gw.addresses().web!.port}`, grpc.credentials.createSsl(Buffer.from(certPem)), {
    'grpc.ssl_target_name_override': 'grpc.example.com', 'grpc.default_authority': 'grpc.example.com',
  }) as unknown as Client;
}

function unary(client: Client, method: string, request: Msg, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}):
  Promise<{ err: grpc.ServiceError | null; reply: Msg | undefined; trailers: grpc.Metadata | undefined }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const call = client[method]!(request, metadata, options, (err: grpc.ServiceError | null, reply?: Msg) => {
      // The status event (with trailers) may come right after the callback.
      setImmediate(() => resolve({ err, reply, trailers: trailers ?? err?.metadata }));
    }) as grpc.ClientUnaryCall;
    call.on('status', (status: grpc.StatusObject) => { trailers = status.metadata; });
  });
}

for (const [label, make] of [['h2c prior knowledge', plainClient], ['h2 over TLS (ALPN)', tlsClient]] as const) {
  test(`gRPC through the gateway, ${label}: unary with metadata and trailers, status codes, deadline`, async () => {
    const client = make();
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-client', 'c1');
      const ok = await eventually(async () => {
        const r = await unary(client, 'Unary', { text: 'hi', n: 7 }, metadata);
        if (r.err) throw r.err;
        return r;
      });
      assert.deepEqual(ok.reply, { text: 'echo:hi:c1', n: 7 });
      assert.deepEqual(ok.trailers?.get('x-trailer'), ['kept']);

      const denied = await unary(client, 'Fail', { text: '', n: 0 });
      assert.equal(denied.err?.code, grpc.status.PERMISSION_DENIED);
      assert.equal(denied.err?.details, 'not you');
      assert.deepEqual(denied.err?.metadata.get('x-reason'), ['because']);

      const late = await unary(client, 'Slow', { text: '', n: 0 }, new grpc.Metadata(), { deadline: Date.now() + 300 });
      assert.equal(late.err?.code, grpc.status.DEADLINE_EXCEEDED);
    } finally {
      client.close();
    }
  });

  test(`gRPC through the gateway, ${label}: server streaming and bidi streaming`, async () => {
    const client = make();
    try {
      const items = await new Promise<Msg[]>((resolve, reject) => {
        const got: Msg[] = [];
        const call = client.Count!({ text: '', n: 50 }) as grpc.ClientReadableStream<Msg>;
        call.on('data', (m: Msg) => got.push(m));
        call.on('error', reject);
        call.on('end', () => resolve(got));
      });
      assert.equal(items.length, 50);
      assert.deepEqual(items[49], { text: 'item49', n: 49 });

      const replies = await new Promise<Msg[]>((resolve, reject) => {
        const got: Msg[] = [];
        const call = client.Chat!() as grpc.ClientDuplexStream<Msg, Msg>;
        let sent = 0;
        // Each message waits for the previous reply: proves both directions stream, not a buffered exchange.
        call.on('data', (m: Msg) => {
          got.push(m);
          if (sent < 5) call.write({ text: `m${sent}`, n: sent++ });
          else call.end();
        });
        call.on('error', reject);
        call.on('end', () => resolve(got));
        call.write({ text: `m${sent}`, n: sent++ });
      });
      assert.deepEqual(replies.map((m) => m.text), ['M0', 'M1', 'M2', 'M3', 'M4']);
      assert.deepEqual(replies.map((m) => m.n), [0, 2, 4, 6, 8]);
    } finally {
      client.close();
    }
  });
}
