/**
 * Raw HTTP/2 frames for tests that must see or send what Node's client will not show or send: the frame layout of
 * RFC 9113 §4.1 (24-bit length, type, flags, 31-bit stream id, payload).
 */

/** One frame: `type` (0 DATA, 1 HEADERS, 3 RST_STREAM, 4 SETTINGS …), `flags` (0x1 END_STREAM/ACK, 0x4 END_HEADERS). */
export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}
