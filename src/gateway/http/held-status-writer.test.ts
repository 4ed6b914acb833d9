import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecordingWriter } from './recording-writer.ts';
import { HeldStatusWriter } from './held-status-writer.ts';
import type { ResponseWriter } from './types.ts';

/** Drops 5xx answers, as the errors middleware, retry and failover do with their `status` ranges. */
class Drops5xx extends HeldStatusWriter {
  constructor(inner: ResponseWriter, skipsInterim: boolean) {
    super(inner, skipsInterim);
  }
  protected drops(statusCode: number): boolean {
    return statusCode >= 500;
  }
}

test('a passing status sends the held headers under the client writer\'s preset ones, then the body', async () => {
  const client = new RecordingWriter();
  client.headers['x-preset'] = 'gateway';
  const writer = new Drops5xx(client, true);
  writer.headers['x-upstream'] = 'a';
  assert.equal(writer.headersSent, false);
  writer.writeHead(200, { 'x-preset': 'upstream', 'content-type': 'text/plain' });
  writer.end('ok');
  await client.whenFinished();
  assert.equal(client.statusCode, 200);
  assert.equal(client.headers['x-upstream'], 'a');
  assert.equal(client.headers['x-preset'], 'gateway', 'preset headers win, as mergeHeaders(…, "preset") says');
  assert.equal(client.body().toString(), 'ok');
  assert.equal(writer.headersSent, true);
  assert.equal(writer.statusCode, 200);
});

test('a dropping status swallows head and body; the client writer sees nothing and drains never wait', async () => {
  const client = new RecordingWriter();
  const writer = new Drops5xx(client, true);
  writer.writeHead(503, { 'retry-after': '1' });
  assert.equal(writer.write('upstream error page'), true);
  let drained = false;
  writer.onDrain(() => (drained = true));
  writer.end();
  await Promise.resolve();
  assert.equal(drained, true);
  assert.equal(client.headersSent, false);
  assert.equal(client.size, 0);
  assert.equal(writer.headersSent, true, 'nothing may write after a dropped answer');
});

test('a first write without writeHead is a 200 that passes', async () => {
  const client = new RecordingWriter();
  const writer = new Drops5xx(client, false);
  writer.end('body');
  await client.whenFinished();
  assert.equal(client.statusCode, 200);
  assert.equal(client.body().toString(), 'body');
});

test('1xx interim answers (but 101) are forgotten with their headers when the writer skips them', async () => {
  const client = new RecordingWriter();
  const writer = new Drops5xx(client, true);
  writer.writeHead(103, { link: '</style.css>; rel=preload' });
  writer.writeHead(201);
  writer.end();
  await client.whenFinished();
  assert.equal(client.statusCode, 201);
  assert.equal(client.headers['link'], undefined);

  const upgrade = new RecordingWriter();
  new Drops5xx(upgrade, true).writeHead(101, { upgrade: 'websocket' });
  assert.equal(upgrade.statusCode, 101, '101 is final: the connection changes protocol');

  const plain = new RecordingWriter();
  new Drops5xx(plain, false).writeHead(103);
  assert.equal(plain.statusCode, 103, 'a writer that does not skip interim answers passes them as final');
});
