/**
 * The byte-level pieces of grpcWeb: the -text request decoder takes several padded base64 parts split anywhere
 * (gRPC's PROTOCOL-WEB.md allows them; Go's base64 decoder in traefik/grpc-web wrapper.go reads them so), and the
 * trailer frame has flag 0x80, a big-endian length and lower-case sorted `name: value\r\n` lines (Go's Header.Write).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Base64DecodeStream, trailerFrame } from './grpcWebWriter.ts';

async function decode(chunks: string[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const part of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new Base64DecodeStream())) out.push(part as Buffer);
  return Buffer.concat(out);
}

test('base64 decoder: padded parts back to back, split at any byte', async () => {
  const text = Buffer.from('ab').toString('base64') + Buffer.from('cde').toString('base64') + Buffer.from('f').toString('base64');
  for (let cut = 0; cut <= text.length; cut++) {
    assert.equal((await decode([text.slice(0, cut), text.slice(cut)])).toString(), 'abcdef', `cut at ${cut}`);
  }
  await assert.rejects(decode(['YW*j']), /not base64/);
  await assert.rejects(decode(['YWJ']), /ends inside/);
});

test('trailer frame: 0x80, length, lower-case sorted lines, CR/LF in values neutralised', () => {
  const frame = trailerFrame({ 'Grpc-Status': '0', 'x-b': ['1', '2'], 'grpc-message': 'a\r\nb' });
  assert.equal(frame[0], 0x80);
  const body = frame.subarray(5).toString();
  assert.equal(frame.readUInt32BE(1), Buffer.byteLength(body));
  assert.equal(body, 'grpc-message: a  b\r\ngrpc-status: 0\r\nx-b: 1\r\nx-b: 2\r\n');
});
