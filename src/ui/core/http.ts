/**
 * Requests to the two public APIs the app reads: Consul's (`/v1/...`, with the ACL token) and Traefik's gateway API
 * (`/api/...`, `/metrics`). A non-2xx answer becomes an ApiError carrying the status and the server's own text, so a
 * 403 can show the permission Consul says is missing.
 */
import { ApiStatusError } from '../../api/errors.ts';
import { consulBase, gatewayBase } from './mount.ts';
import { getToken } from './token.ts';

/**
 * A failed request: Consul's (or the gateway's) status and text, or status 0 when nothing answered. It is the API
 * client's ApiStatusError (MG_API_STATUS) with what the pages need beside it: the text alone, the URL, and the
 * X-Consul-Index the answer carried (KV's 404 for an empty prefix has one to block on).
 */
export class ApiError extends ApiStatusError {
  readonly status: number;
  readonly url: string;
  /** The server's own text (or why nothing answered), shown to the user verbatim. */
  readonly text: string;
  readonly index: number;
  constructor(status: number, text: string, url: string, index = 0, method = 'GET') {
    super(method, url, status, text);
    this.status = status;
    this.url = url;
    this.text = text.trim();
    this.index = index;
  }
}

export interface ConsulRequest {
  method?: string;
  /** A string or bytes sent as is (KV values), or a value sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /** Overrides the stored token (login checks a token before keeping it). */
  token?: string;
}

function consulUrl(path: string): string {
  return `${consulBase()}${path}`;
}

/** Sends one request to the Consul API; resolves with the Response when 2xx, rejects with ApiError otherwise. */
export async function consulFetch(path: string, request: ConsulRequest = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = request.token ?? getToken()?.secretId;
  if (token) headers['X-Consul-Token'] = token;
  let body: BodyInit | undefined;
  if (typeof request.body === 'string' || request.body instanceof Uint8Array) body = request.body as BodyInit;
  else if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    headers['Content-Type'] = 'application/json';
  }
  const url = consulUrl(path);
  let res: Response;
  try {
    res = await fetch(url, { method: request.method ?? 'GET', headers, body: body ?? null, signal: request.signal ?? null, cache: 'no-store' });
  } catch (err) {
    if (request.signal?.aborted) throw err;
    throw new ApiError(0, `The Consul API at ${url} did not answer (${err instanceof Error ? err.message : String(err)})`, url);
  }
  if (!res.ok) throw new ApiError(res.status, (await res.text()).trim() || res.statusText, url, Number(res.headers.get('X-Consul-Index') ?? 0));
  return res;
}

export async function consulJson<T>(path: string, request: ConsulRequest = {}): Promise<T> {
  const res = await consulFetch(path, request);
  const text = await res.text();
  return (text === '' ? null : JSON.parse(text)) as T;
}

/** GETs from the gateway's API; rejects with ApiError 0 when no gateway is known to this page. */
export async function gatewayFetch(path: string, signal?: AbortSignal): Promise<Response> {
  const base = gatewayBase();
  if (base === undefined) throw new ApiError(0, 'No gateway configured for this page', path);
  const url = `${base}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ?? null, cache: 'no-store' });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, `The gateway at ${base || location.origin} did not answer ${path} (${err instanceof Error ? err.message : String(err)}); ` +
      'a gateway on another origin must be opened at its own /dashboard/', url);
  }
  if (!res.ok) throw new ApiError(res.status, (await res.text()).trim() || res.statusText, url);
  return res;
}

/** Path segment encoding for names that may contain slashes (KV keys keep theirs). */
export function enc(name: string): string {
  return encodeURIComponent(name);
}

export function encKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** What a permission-denied answer is missing, from Consul's text (acl/errors.go PermissionDeniedError). */
export function missingPermission(error: ApiError): { permission: string; resource: string } | undefined {
  const m = /lacks permission '([^']+)'(?: on "([^"]*)")?/.exec(error.text);
  return m ? { permission: m[1]!, resource: m[2] ?? '' } : undefined;
}

/**
 * Consul answers /v1/acl/* with 401 "ACL support disabled" when ACLs are off (agent/acl_endpoint.go aclDisabled).
 * Any other answer — a 404 "Supplied token does not exist" for an anonymous token/self included — means they are on.
 */
export function isAclDisabled(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401 && /ACL support disabled/i.test(error.text);
}
