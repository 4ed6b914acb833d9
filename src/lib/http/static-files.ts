/**
 * The web app's files (dist/ui, built by Vite) served under a mount path — the server's `/ui/`, the gateway's
 * `/dashboard/` — by a transport-free resolver each process wraps in its own handler. The files are read once into
 * memory with a gzip copy (the app is a few hundred KB); hashed assets are cacheable for a year, index.html must be
 * revalidated (ETag), any other path under the mount answers index.html so client-side routes survive a reload,
 * and index.html gets a `<base href>` naming the mount so one build works under any prefix.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** dist/ui beside this file's package root: src/lib/http and dist/lib/http are both three folders below it. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may call any HTTP(S) origin (a gateway's API on another port) but loads code only from itself, and
 * cannot be framed (clickjacking of the KV and ACL forms).
 */
const CSP = "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'";

interface File {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  readonly immutable: boolean;
}

export interface StaticAnswer {
  readonly status: number;
  /** Prototype-free, lower-case names. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface StaticRequest {
  readonly method: string;
  /** The path as received (percent-encoded), without the query string. */
  readonly path: string;
  readonly acceptEncoding?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
}

function headers(entries: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function load(body: Buffer, name: string, immutable: boolean): File {
  const type = CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
  const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 512;
  return {
    body,
    gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable,
  };
}

export class StaticSite {
  readonly mount: string;
  private readonly files = new Map<string, File>();
  private readonly index: File | undefined;

  /** `mount` ends with `/` (`/ui/`); `dir` holds index.html and assets/ (missing: every request answers 404 with how to build). */
  constructor(options: { dir?: string; mount: string }) {
    this.mount = options.mount.endsWith('/') ? options.mount : `${options.mount}/`;
    const dir = options.dir ?? DEFAULT_UI_DIR;
    if (!existsSync(join(dir, 'index.html'))) return;
    for (const file of walk(dir)) {
      const name = relative(dir, file).split(sep).join('/');
      if (name === 'index.html') continue;
      // Vite names built assets by content hash (assets/index-<hash>.js): safe to cache for good.
      this.files.set(name, load(readFileSync(file), name, name.startsWith('assets/')));
    }
    const html = readFileSync(join(dir, 'index.html'), 'utf8').replace(/<head>/i, `<head>\n    <base href="${escapeAttr(this.mount)}">`);
    this.index = load(Buffer.from(html), 'index.html', false);
  }

  get built(): boolean {
    return this.index !== undefined;
  }

  /** Answers a request for a path at or under the mount; undefined for any other path. */
  resolve(request: StaticRequest): StaticAnswer | undefined {
    const bare = this.mount.slice(0, -1);
    if (request.path === bare) return { status: 301, headers: headers({ location: this.mount, 'content-length': '0' }), body: Buffer.alloc(0) };
    if (!request.path.startsWith(this.mount)) return undefined;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return text(405, 'Method Not Allowed\n', { allow: 'GET, HEAD' });
    }
    if (!this.index) return text(404, 'The web UI is not built: run `npm run build:ui` (part of `npm run build`).\n');
    let name: string;
    try {
      name = decodeURIComponent(request.path.slice(this.mount.length));
    } catch {
      return text(400, 'invalid escape in path\n');
    }
    // Only names of files read at startup are served, so `..` cannot reach outside the folder; refuse it anyway.
    if (name.split('/').includes('..')) return text(400, 'invalid path\n');
    const file = this.files.get(name);
    if (!file && /^assets\//.test(name)) return text(404, '404 page not found\n');
    return this.answer(file ?? this.index, request);
  }

  private answer(file: File, request: StaticRequest): StaticAnswer {
    const h = headers({
      'content-type': file.type,
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: file.etag,
      vary: 'Accept-Encoding',
      'x-content-type-options': 'nosniff',
    });
    if (file.type.startsWith('text/html')) {
      h['content-security-policy'] = CSP;
      h['referrer-policy'] = 'same-origin';
    }
    if (request.ifNoneMatch !== undefined && request.ifNoneMatch.split(',').some((t) => t.trim() === file.etag)) {
      return { status: 304, headers: h, body: Buffer.alloc(0) };
    }
    const gzip = file.gzip !== undefined && acceptsGzip(request.acceptEncoding);
    const body = gzip ? file.gzip! : file.body;
    if (gzip) h['content-encoding'] = 'gzip';
    h['content-length'] = String(body.length);
    return { status: 200, headers: h, body: request.method === 'HEAD' ? Buffer.alloc(0) : body };
  }
}

function text(status: number, body: string, extra: Record<string, string> = {}): StaticAnswer {
  const buf = Buffer.from(body);
  return {
    status,
    headers: headers({ 'content-type': 'text/plain; charset=utf-8', 'content-length': String(buf.length), 'x-content-type-options': 'nosniff', ...extra }),
    body: buf,
  };
}

/** `gzip` listed without `q=0` (RFC 9110 §12.5.3); `*` counts. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) yield* walk(full);
    else yield full;
  }
}
