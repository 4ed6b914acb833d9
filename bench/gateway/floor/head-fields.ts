/**
 * One pass over the field lines of an HTTP/1.1 head (a latin1 string, lines ending CRLF): what a proxy needs to read
 * (framing, Connection, Host, Expect, Upgrade) and the lines it passes on, with the hop-by-hop ones (RFC 9110 §7.6.1:
 * Connection, Keep-Alive, Proxy-Connection, TE, Upgrade) left out. The lines passed on are sliced from the head in runs,
 * not rebuilt, so a head whose lines all go on costs one slice.
 * Benchmark code: names listed in a Connection header are not removed, obs-fold and bare LF are not recognised, and
 * names and values are checked only in `strict` mode (the "hardened" peer measures what that costs).
 */
import { FRAMING_CHUNKED, FRAMING_CLOSE, FRAMING_LENGTH, FRAMING_NONE, type Framing } from './body-reader.ts';

/** RFC 9110 §5.6.2 token; field values: visible ASCII, obs-text, SP and HTAB (§5.5). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export class HeadFields {
  /** The lines passed on, each ending CRLF (no final empty line). */
  forward = '';
  /** [name, value, …] of the lines passed on, when asked for (node:http's writeHead takes that form). */
  flat: string[] | null = null;
  framing: Framing = FRAMING_NONE;
  length = 0;
  close = false;
  keepAlive = false;
  host = '';
  expectContinue = false;
  upgrade = false;
  /** Why the head is refused ('' when it is not). */
  error = '';
  /** Drop Transfer-Encoding from the lines passed on (for a sink that frames the body again). */
  private dropTransferEncoding: boolean;
  private strict: boolean;
  private wantFlat: boolean;

  constructor(options: { dropTransferEncoding: boolean; strict: boolean; flat: boolean }) {
    this.dropTransferEncoding = options.dropTransferEncoding;
    this.strict = options.strict;
    this.wantFlat = options.flat;
  }

  /** Reads the field lines of `h` from `from` (the start of the first field line) to its end; every line of `h` ends CRLF. */
  parse(h: string, from: number, request: boolean): void {
    this.forward = '';
    this.flat = this.wantFlat ? [] : null;
    this.framing = FRAMING_NONE;
    this.length = -1;
    this.close = false;
    this.keepAlive = false;
    this.host = '';
    this.expectContinue = false;
    this.upgrade = false;
    this.error = '';
    let chunked = false;
    let transferEncoding = false;
    let runStart = from;
    let forward = '';
    let pos = from;
    const end = h.length;
    while (pos < end) {
      const eol = h.indexOf('\r\n', pos);
      const colon = h.indexOf(':', pos);
      if (eol === -1 || colon === -1 || colon > eol || colon === pos) {
        this.error = 'malformed field line';
        return;
      }
      const name = h.slice(pos, colon);
      let drop = false;
      const n = name.length;
      if (this.strict && (!TOKEN.test(name) || !FIELD_VALUE.test(h.slice(colon + 1, eol)))) {
        this.error = `invalid field ${JSON.stringify(name)}`;
        return;
      }
      if (n === 2 || n === 4 || n === 6 || n === 7 || n === 10 || n === 14 || n === 16 || n === 17) {
        const lower = name.toLowerCase();
        if (lower === 'host') this.host = h.slice(colon + 1, eol).trim();
        else if (lower === 'content-length') {
          const value = h.slice(colon + 1, eol).trim();
          const length = /^\d{1,15}$/.test(value) ? Number(value) : -1;
          if (length < 0 || (this.length >= 0 && this.length !== length)) {
            this.error = 'invalid Content-Length';
            return;
          }
          this.length = length;
        } else if (lower === 'transfer-encoding') {
          transferEncoding = true;
          chunked = /(?:^|,)\s*chunked\s*$/i.test(h.slice(colon + 1, eol));
          drop = this.dropTransferEncoding;
        } else if (lower === 'connection') {
          const value = h.slice(colon + 1, eol).toLowerCase();
          if (value.includes('close')) this.close = true;
          if (value.includes('keep-alive')) this.keepAlive = true;
          if (value.includes('upgrade')) this.upgrade = true;
          drop = true;
        } else if (lower === 'expect') this.expectContinue = h.slice(colon + 1, eol).trim().toLowerCase() === '100-continue';
        else drop = lower === 'keep-alive' || lower === 'proxy-connection' || lower === 'te' || lower === 'upgrade';
      }
      if (drop) {
        if (pos > runStart) forward += h.slice(runStart, pos);
        runStart = eol + 2;
      } else if (this.flat) this.flat.push(name, h.slice(colon + 1, eol).trim());
      pos = eol + 2;
    }
    if (runStart < end) forward += h.slice(runStart, end);
    this.forward = forward;
    // Framing (RFC 9112 §6.3); a request with both Transfer-Encoding and Content-Length, or with a transfer coding
    // that does not end in chunked, is refused: the classic smuggling pair.
    if (transferEncoding) {
      if (request && (this.length >= 0 || !chunked)) {
        this.error = 'Transfer-Encoding with Content-Length, or not ending in chunked';
        return;
      }
      this.framing = chunked ? FRAMING_CHUNKED : FRAMING_CLOSE;
    } else if (this.length >= 0) this.framing = FRAMING_LENGTH;
    else this.framing = request ? FRAMING_NONE : FRAMING_CLOSE;
    if (this.length < 0) this.length = 0;
  }
}
