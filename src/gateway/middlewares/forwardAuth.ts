/**
 * forwardAuth: asks an authentication server first (Traefik pkg/middlewares/auth/forward.go). The auth server
 * gets the request's headers (all, or only authRequestHeaders) plus X-Forwarded-Method/Proto/Host/Uri/For; a 2xx
 * lets the request through with authResponseHeaders(/Regex) copied from the auth response onto it, any other
 * answer is returned to the client as is (status, headers, body). Redirects from the auth server are not followed.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Agent, request } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayRequest, ResponseHeaders } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';
import { compileGoRegexp } from '../../lib/go-regexp/index.ts';
import { HeaderHookWriter } from '../http/header-hook-writer.ts';
import { rawHost, readBody, requestHeader } from '../http/request.ts';
import { writeError } from '../http/write-error.ts';
import { appendHeader, prototypeFree } from '../../lib/http/headers.ts';
import { remoteIp } from '../../lib/ip/strategy.ts';

export const forwardAuthSchema = z
  .object({
    address: z.string().url(),
    tls: z
      .object({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        insecureSkipVerify: z.boolean().optional(),
        caOptional: z.boolean().optional(),
      })
      .strict()
      .optional(),
    trustForwardHeader: z.boolean().optional(),
    authResponseHeaders: z.array(z.string()).optional(),
    authResponseHeadersRegex: z.string().optional(),
    authRequestHeaders: z.array(z.string()).optional(),
    addAuthCookiesToResponse: z.array(z.string()).optional(),
    headerField: z.string().optional(),
    forwardBody: z.boolean().optional(),
    maxBodySize: z.number().int().optional(),
    preserveLocationHeader: z.boolean().optional(),
    preserveRequestMethod: z.boolean().optional(),
  })
  .strict();

// Hop-by-hop headers (RFC 7230 §6.1) are never forwarded in either direction.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection']);
const FORWARDED = ['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri', 'x-forwarded-for'];

function readMaybeFile(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq === -1 ? setCookie : setCookie.slice(0, eq)).trim();
}

registerMiddleware('forwardAuth', {
  schema: forwardAuthSchema,
  create(config, context) {
    const address = config.address;
    const authOrigin = new URL(address).origin;
    const tls = config.tls;
    const dispatcher = new Agent({
      connect: tls
        ? { ca: readMaybeFile(tls.ca), cert: readMaybeFile(tls.cert), key: readMaybeFile(tls.key), rejectUnauthorized: tls.insecureSkipVerify !== true }
        : undefined,
      keepAliveTimeout: 30_000,
    });
    const trust = config.trustForwardHeader === true;
    const requestHeaders = config.authRequestHeaders?.map((h) => h.toLowerCase());
    const responseHeaders = (config.authResponseHeaders ?? []).map((h) => h.toLowerCase());
    // Node lower-cases header names where Go canonicalizes them (X-Auth-Role): match case-insensitively.
    const responseRegex = config.authResponseHeadersRegex ? compileGoRegexp(config.authResponseHeadersRegex, { caseInsensitive: true }) : undefined;
    const cookies = new Set(config.addAuthCookiesToResponse ?? []);
    const headerField = config.headerField?.toLowerCase();
    const forwardBody = config.forwardBody === true;
    const maxBodySize = config.maxBodySize ?? -1;
    const preserveMethod = config.preserveRequestMethod === true;
    const preserveLocation = config.preserveLocationHeader === true;

    const authHeaders = (req: GatewayRequest): Record<string, string | string[]> => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name) || name === 'host' || name === 'content-length' || name.startsWith(':')) continue;
        if (requestHeaders && !requestHeaders.includes(name)) continue;
        if (FORWARDED.includes(name)) continue;
        out[name] = value;
      }
      const xff = requestHeader(req, 'x-forwarded-for');
      const client = remoteIp(req.remoteAddress); // Traefik uses the TCP peer, like the proxy
      out['x-forwarded-for'] = trust && xff ? `${xff}, ${client}` : client;
      const fwd = (name: string, own: string): string => (trust ? (requestHeader(req, name) ?? own) : own);
      out['x-forwarded-method'] = fwd('x-forwarded-method', req.method);
      out['x-forwarded-proto'] = fwd('x-forwarded-proto', req.tls ? 'https' : 'http');
      out['x-forwarded-host'] = fwd('x-forwarded-host', rawHost(req));
      out['x-forwarded-uri'] = fwd('x-forwarded-uri', req.url);
      return out;
    };

    const addCookies = (_status: number, headers: ResponseHeaders, setCookies: string[]): void => {
      for (const c of setCookies) appendHeader(headers, 'set-cookie', c);
    };

    return (next) => async (req, rw) => {
      let body: Buffer | undefined;
      if (forwardBody) {
        const read = await readBody(req, maxBodySize > 0 ? maxBodySize : 0);
        if (read.overflow) {
          writeError(rw, 401);
          return;
        }
        body = read.body;
        req.bufferedBody = body;
      }
      let res;
      try {
        res = await request(address, {
          method: preserveMethod ? (req.method as 'GET') : 'GET',
          headers: authHeaders(req),
          body,
          dispatcher,
        });
      } catch (err) {
        context.logger.error({ err, middleware: context.name, address }, 'forwardAuth: calling the authentication server failed');
        writeError(rw, 500);
        return;
      }
      const status = res.statusCode;
      const headers = res.headers as IncomingHttpHeaders;
      if (status < 200 || status >= 300) {
        const out = prototypeFree<ResponseHeaders>();
        for (const [name, value] of Object.entries(headers)) {
          if (value === undefined || HOP_BY_HOP.has(name)) continue;
          out[name] = value;
        }
        // A relative Location from the auth server is made absolute against it, unless told to keep it.
        const location = headers.location;
        if (typeof location === 'string' && !preserveLocation) {
          try {
            out.location = new URL(location, authOrigin).href;
          } catch {
            out.location = location;
          }
        }
        const payload = Buffer.from(await res.body.arrayBuffer());
        rw.writeHead(status, out);
        rw.end(payload);
        return;
      }
      await res.body.dump();
      for (const name of responseHeaders) {
        delete req.headers[name];
        const value = headers[name];
        if (value !== undefined) req.headers[name] = value as string;
      }
      if (responseRegex) {
        for (const name of Object.keys(req.headers)) if (responseRegex.test(name)) delete req.headers[name];
        for (const [name, value] of Object.entries(headers)) if (value !== undefined && responseRegex.test(name)) req.headers[name] = value as string;
      }
      if (headerField) {
        const user = headers[headerField];
        if (typeof user === 'string') req.data.ClientUsername = user;
      }
      if (cookies.size > 0) {
        const raw = headers['set-cookie'];
        const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
        const wanted = list.filter((c) => cookies.has(cookieName(c)));
        if (wanted.length > 0) {
          await next(req, new HeaderHookWriter(rw, addCookies, wanted));
          return;
        }
      }
      await next(req, rw);
    };
  },
});
