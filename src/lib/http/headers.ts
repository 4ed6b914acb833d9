/**
 * Header maps as node hands them over (`name → value | values`), looked up without regard to case, and the one
 * merge of the headers a middleware set before the response with the ones the handler (usually the upstream)
 * writes: the middleware's win, Set-Cookie lines accumulate (the handler's first). Maps created here are
 * prototype-free, so a header called `constructor` or `__proto__` is just a header.
 */
export type HeaderValue = string | string[];
export type HeaderMap = Record<string, HeaderValue>;

/**
 * Objects made by `new` on a function whose prototype is an empty, frozen, prototype-free object inherit nothing:
 * `constructor`, `toString` and `__proto__` are plain own keys, as with `Object.create(null)`. Unlike those, V8 gives
 * them fast properties: it keeps `Object.create(null)` objects in dictionary mode (a hash table per object), which
 * made building and iterating a header map about 3× slower and cost the gateway CPU on every request.
 */
const PrototypeFree = function PrototypeFree(): void { /* an empty shape; see above */ } as unknown as new () => object;
PrototypeFree.prototype = Object.freeze(Object.create(null) as object);

/** An empty prototype-free map with fast properties (header maps, per-request data); see PrototypeFree. */
export function prototypeFree<T extends object = HeaderMap>(): T {
  return new PrototypeFree() as T;
}

/** Whether `value` inherits no member at all: every object on its prototype chain is empty (or there is none). */
export function isPrototypeFree(value: object): boolean {
  for (let proto = Object.getPrototypeOf(value) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    if (Reflect.ownKeys(proto).length > 0) return false;
  }
  return true;
}

/** An empty prototype-free header map. */
export function headerMap(): HeaderMap {
  return prototypeFree<HeaderMap>();
}

/** The key under which `name` is stored, whatever its case; lower-case keys (node's) are found without a scan. */
export function findHeaderKey(headers: HeaderMap, name: string): string | undefined {
  if (Object.hasOwn(headers, name)) return name;
  const lower = name.toLowerCase();
  if (lower !== name && Object.hasOwn(headers, lower)) return lower;
  // Only a key of the same length can match.
  for (const key in headers) if (key.length === lower.length && key.toLowerCase() === lower) return key;
  return undefined;
}

export function getHeader(headers: HeaderMap, name: string): HeaderValue | undefined {
  const key = findHeaderKey(headers, name);
  return key === undefined ? undefined : headers[key];
}

export function getHeaderString(headers: HeaderMap, name: string): string | undefined {
  const value = getHeader(headers, name);
  return Array.isArray(value) ? value[0] : value;
}

export function deleteHeader(headers: HeaderMap, name: string): void {
  const lower = name.toLowerCase();
  if (Object.hasOwn(headers, lower)) delete headers[lower];
  for (const key in headers) if (key.length === lower.length && key.toLowerCase() === lower) delete headers[key];
}

/** Sets `name` (stored lower-case), replacing it in whatever case it was there. */
export function setHeader(headers: HeaderMap, name: string, value: HeaderValue): void {
  deleteHeader(headers, name);
  headers[name.toLowerCase()] = value;
}

export function appendHeader(headers: HeaderMap, name: string, value: string): void {
  const current = getHeader(headers, name);
  if (current === undefined) setHeader(headers, name, value);
  else setHeader(headers, name, Array.isArray(current) ? [...current, value] : [current, value]);
}

function isSetCookie(key: string): boolean {
  return key.length === 10 && (key === 'set-cookie' || key.toLowerCase() === 'set-cookie');
}

/**
 * Merges the headers a middleware set first (`preset`) with the handler's (`written`): the preset wins, Set-Cookie
 * accumulates (written lines, then preset lines). The result is built in whichever map `into` names — the writer
 * passes the handler's (usually larger) map so the few preset entries are the ones copied; a middleware that only
 * has the preset to hand on writes into it — and that map is returned.
 */
export function mergeHeaders(preset: HeaderMap, written: HeaderMap, into: 'preset' | 'written' = 'written'): HeaderMap {
  if (into === 'written') {
    for (const name in preset) {
      const value = preset[name]!;
      const key = findHeaderKey(written, name);
      if (key === undefined) written[name] = value;
      else if (isSetCookie(key)) written[key] = ([] as string[]).concat(written[key]!, value);
      else written[key] = value;
    }
    return written;
  }
  for (const name in written) {
    const value = written[name]!;
    const key = findHeaderKey(preset, name);
    if (key === undefined) preset[name.toLowerCase()] = value;
    else if (isSetCookie(key)) preset[key] = ([] as string[]).concat(value, preset[key]!);
  }
  return preset;
}
