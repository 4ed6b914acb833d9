/**
 * The ClientHello reader sees raw bytes from anybody before TLS does: it must find the SNI of a real hello
 * (whole, split into single bytes, or spread over several records) and never throw on truncated or garbage input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { parseClientHello, readClientHello } from './client-hello.ts';

async function captureHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) { resolve(all); socket.destroy(); }
      });
    });
  });
  const client = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

test('the SNI of a real ClientHello is found whole, byte by byte, and across records', async () => {
  const hello = await captureHello('API.Example.com');
  assert.deepEqual(parseClientHello(hello), { done: true, tls: true, servername: 'api.example.com' });
  for (let cut = 0; cut < hello.length; cut++) assert.equal(parseClientHello(hello.subarray(0, cut)).done, false, `cut at ${cut}`);
  // The same handshake message split into two TLS records.
  const body = hello.subarray(5);
  const half = Math.floor(body.length / 2);
  const record = (part: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  assert.deepEqual(parseClientHello(Buffer.concat([record(body.subarray(0, half)), record(body.subarray(half))])), { done: true, tls: true, servername: 'api.example.com' });
  const anonymous = await captureHello(undefined);
  assert.deepEqual(parseClientHello(anonymous), { done: true, tls: true, servername: undefined });
});

test('garbage, plain HTTP and corrupted hellos never throw', async () => {
  const hello = await captureHello('fuzz.example');
  assert.deepEqual(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), { done: true, tls: false, servername: undefined });
  assert.deepEqual(parseClientHello(Buffer.from('G')), { done: true, tls: false, servername: undefined }, 'one plain byte is enough to tell');
  for (let i = 0; i < 2000; i++) {
    const copy = Buffer.from(hello);
    // Corrupt a few bytes past the record header so the lengths inside the hello lie.
    for (let k = 0; k < 3; k++) copy[5 + Math.floor(Math.random() * (copy.length - 5))] = Math.floor(Math.random() * 256);
    const result = parseClientHello(copy);
    if (result.done && result.servername !== undefined) assert.equal(typeof result.servername, 'string');
    parseClientHello(randomBytes(1 + Math.floor(Math.random() * 600)));
  }
});

test('readClientHello puts the bytes back for TLS and gives up on silence', async () => {
  const hello = await captureHello('back.example');
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const seen = new Promise<{ name: string | undefined; rest: Buffer }>((resolve) => {
    server.once('connection', async (socket) => {
      const { servername } = await readClientHello(socket, 2000);
      const rest: Buffer[] = [];
      socket.on('data', (c: Buffer) => { rest.push(c); if (Buffer.concat(rest).length >= hello.length) resolve({ name: servername, rest: Buffer.concat(rest) }); });
      socket.resume();
    });
  });
  const client = net.connect(port, '127.0.0.1');
  client.write(hello.subarray(0, 10));
  setTimeout(() => client.write(hello.subarray(10)), 20);
  const { name, rest } = await seen;
  assert.equal(name, 'back.example');
  assert.ok(rest.equals(hello), 'the hello bytes were handed back unchanged');
  client.destroy();
  const silent = net.connect(port, '127.0.0.1');
  const timedOut = new Promise<Error>((resolve) => server.once('connection', (socket) => readClientHello(socket, 100).catch(resolve)));
  assert.match((await timedOut).message, /timed out/);
  silent.destroy();
  server.close();
});
