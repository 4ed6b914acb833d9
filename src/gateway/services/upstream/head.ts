/**
 * HTTP/1.1 message heads on the upstream side: the request head we write and the response head we read.
 *
 * Parsing is strict where leniency lets a response smuggle or split (RFC 9112 §6.3, §11): obs-fold, a header
 * name that is not a token, a control character in a value, a non-numeric or conflicting Content-Length and a
 * transfer coding other than chunked are refused as protocol errors, so the proxy answers 502 instead of passing
 * an ambiguous message on. Values are checked against the same character set node's `writeHead` accepts, so a
 * parsed head can never make the downstream response throw. Chunked framing wins over Content-Length, which is
 * then dropped, as Go's net/http (Traefik's transport) does. Hop-by-hop fields are read for framing and
 * connection reuse but not returned.
 */
import { UpstreamError, UpstreamErrorCodes } from './errors.ts';
import type { ResponseHeaderMap, UpstreamRequest } from './types.ts';
import { prototypeFree } from '../../../lib/http/headers.ts';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What node's http module refuses in a header value (its checkInvalidHeaderChar). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** A request target may hold no whitespace or control characters. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const INVALID_TARGET = /[\x00-\x20\x7f]/;
const DIGITS = /^\d{1,15}$/;

export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  headers: ResponseHeaderMap;
  /** -1 when the response has no Content-Length (or is chunked). */
  contentLength: number;
  chunked: boolean;
  /** False when the connection must close after this response. */
  keepAlive: boolean;
  /** The upstream's `Keep-Alive: timeout=N` in ms, -1 when absent. */
  keepAliveTimeoutMs: number;
}

function invalidRequest(message: string): UpstreamError {
  return new UpstreamError(UpstreamErrorCodes.invalidRequest, message);
}

function protocolError(message: string): UpstreamError {
  return new UpstreamError(UpstreamErrorCodes.protocol, message);
}

/**
 * The request head, ending with the blank line. `defaultHost` is used when the headers carry no Host. A body given
 * as a Buffer is framed by its length (any Content-Length in `headers` is replaced); a stream keeps the request's
 * Content-Length when it has one and is sent chunked otherwise.
 */
export function serializeRequestHead(request: UpstreamRequest, defaultHost: string): { head: string; chunked: boolean } {
  const { method, path, headers, body } = request;
  if (!TOKEN.test(method)) throw invalidRequest(`invalid method ${JSON.stringify(method)}`);
  if (path.length === 0 || INVALID_TARGET.test(path)) throw invalidRequest(`invalid request target ${JSON.stringify(path)}`);
  const isBuffer = body !== null && Buffer.isBuffer(body);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  let hasLength = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) throw invalidRequest(`invalid header name ${JSON.stringify(name)}`);
    const lower = name.length === 4 || name.length === 14 || name.length === 17 ? name.toLowerCase() : name;
    if (lower === 'host') hasHost = true;
    else if (lower === 'content-length') {
      if (isBuffer || body === null && request.upgrade !== null) continue;
      hasLength = true;
    } else if (lower === 'transfer-encoding') continue;
    if (typeof value === 'string') {
      if (INVALID_VALUE.test(value)) throw invalidRequest(`invalid value for header "${name}"`);
      head += `${name}: ${value}\r\n`;
    } else {
      for (const item of value) {
        if (INVALID_VALUE.test(item)) throw invalidRequest(`invalid value for header "${name}"`);
        head += `${name}: ${item}\r\n`;
      }
    }
  }
  if (!hasHost) head += `host: ${defaultHost}\r\n`;
  let chunked = false;
  if (request.upgrade !== null) {
    if (!TOKEN.test(request.upgrade.replace(/[\s,/]/g, ''))) throw invalidRequest('invalid upgrade protocol');
    head += `connection: upgrade\r\nupgrade: ${request.upgrade}\r\n`;
  } else if (isBuffer) {
    head += `content-length: ${(body as Buffer).length}\r\n`;
  } else if (body !== null && !hasLength) {
    head += 'transfer-encoding: chunked\r\n';
    chunked = true;
  }
  return { head: `${head}\r\n`, chunked };
}

/** Parses a response head (status line and header lines, without the terminating blank line), as latin1 text. */
export function parseResponseHead(text: string): ResponseHead {
  // "HTTP/1.x NNN[ reason]"
  if (text.length < 12 || !text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) {
    throw protocolError('malformed status line');
  }
  const minor = text.charCodeAt(7) - 48;
  const d1 = text.charCodeAt(9) - 48;
  const d2 = text.charCodeAt(10) - 48;
  const d3 = text.charCodeAt(11) - 48;
  if ((minor !== 0 && minor !== 1) || d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) {
    throw protocolError('malformed status line');
  }
  const lineEnd = text.indexOf('\r\n');
  const statusEnd = lineEnd === -1 ? text.length : lineEnd;
  if (statusEnd > 12 && text.charCodeAt(12) !== 32) throw protocolError('malformed status line');
  const statusMessage = statusEnd > 13 ? text.slice(13, statusEnd) : '';
  if (INVALID_VALUE.test(statusMessage)) throw protocolError('malformed status line');

  // Hop-by-hop fields (RFC 9110 §7.6.1) are consumed here, not handed on: a proxy must not forward them, and
  // never creating them spares deleting them (a delete turns the object into a slow dictionary). A 101 keeps
  // them, since Connection and Upgrade are exactly what the client must see.
  const keepHopByHop = d1 === 1 && d2 === 0 && d3 === 1;
  let connectionListed: string[] | undefined;
  // Prototype-free: a header named `constructor` or `__proto__` is just a header.
  const headers = prototypeFree<ResponseHeaderMap>();
  let contentLength = -1;
  let lengthSeen: string | undefined;
  let chunked = false;
  let transferEncoding = false;
  let close = false;
  let keepAliveToken = false;
  let keepAliveTimeoutMs = -1;
  let i = lineEnd;
  while (i !== -1) {
    const start = i + 2;
    const next = text.indexOf('\r\n', start);
    const stop = next === -1 ? text.length : next;
    i = next;
    const first = text.charCodeAt(start);
    if (first === 32 || first === 9) throw protocolError('obsolete line folding in response header');
    const colon = text.indexOf(':', start);
    if (colon === -1 || colon >= stop) throw protocolError('malformed response header line');
    const rawName = text.slice(start, colon);
    if (!TOKEN.test(rawName)) throw protocolError('invalid response header name');
    const name = rawName.toLowerCase();
    let vs = colon + 1;
    let ve = stop;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    const value = text.slice(vs, ve);
    if (INVALID_VALUE.test(value)) throw protocolError(`invalid value in response header "${name}"`);

    switch (name) {
      case 'content-length': {
        const length = normaliseContentLength(value);
        if (lengthSeen !== undefined) {
          if (lengthSeen !== length) throw protocolError('conflicting Content-Length headers');
          continue; // identical repeats collapse into one
        }
        lengthSeen = length;
        contentLength = Number(length);
        headers[name] = length;
        continue;
      }
      case 'transfer-encoding': {
        transferEncoding = true;
        const codings = value.toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '' && c !== 'identity');
        const at = codings.indexOf('chunked');
        if (at !== -1 && at !== codings.length - 1) throw protocolError('chunked is not the final transfer coding');
        if (at === -1 && codings.length > 0) throw protocolError(`unsupported transfer coding "${value}"`);
        if (at !== -1) chunked = true;
        break;
      }
      case 'connection': {
        const lower = value.toLowerCase();
        if (lower === 'keep-alive') keepAliveToken = true;
        else if (lower === 'close') close = true;
        else {
          for (const part of lower.split(',')) {
            const token = part.trim();
            if (token === 'close') close = true;
            else if (token === 'keep-alive') keepAliveToken = true;
            else if (token !== '' && token !== 'upgrade') (connectionListed ??= []).push(token);
          }
        }
        if (!keepHopByHop) continue;
        break;
      }
      case 'keep-alive': {
        const m = /(?:^|[\s,])timeout\s*=\s*(\d+)/i.exec(value);
        if (m !== null) keepAliveTimeoutMs = Number(m[1]) * 1000;
        if (!keepHopByHop) continue;
        break;
      }
      case 'proxy-connection':
      case 'proxy-authenticate':
      case 'trailer':
      case 'te':
      case 'upgrade':
        if (!keepHopByHop) continue;
        break;
    }
    if (name === 'transfer-encoding' && !keepHopByHop) continue;
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
  if (connectionListed !== undefined && !keepHopByHop) for (const listed of connectionListed) delete headers[listed];
  if (transferEncoding && lengthSeen !== undefined) {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; the stale length must not travel on.
    delete headers['content-length'];
    contentLength = -1;
  }
  const statusCode = d1 * 100 + d2 * 10 + d3;
  const keepAlive = minor === 1 ? !close : keepAliveToken && !close;
  return { statusCode, statusMessage, headers, contentLength: chunked ? -1 : contentLength, chunked, keepAlive, keepAliveTimeoutMs };
}

function normaliseContentLength(value: string): string {
  if (DIGITS.test(value)) return value;
  // "5, 5" (a list of identical lengths) is allowed by RFC 9110 §8.6; anything else is not a length.
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length > 1 && parts.every((p) => p === parts[0]) && DIGITS.test(parts[0]!)) return parts[0]!;
  throw protocolError('invalid Content-Length');
}
