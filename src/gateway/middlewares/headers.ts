/**
 * headers: custom request/response headers ("" removes a header), CORS (preflight answered here, allow-origin
 * on responses) and security headers in the shape of unrolled/secure, with Traefik's configuration keys
 * (Traefik pkg/middlewares/headers). Everything is compiled into header lists at create time.
 */
import { z } from 'zod';
import type { GatewayRequest, ResponseHeaders } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';
import { compileGoRegexp } from '../../lib/go-regexp/index.ts';
import { HeaderHookWriter } from '../http/header-hook-writer.ts';
import { rawHost, requestHeader } from '../http/request.ts';
import { writeError } from '../http/write-error.ts';
import { deleteHeader, getHeaderString, prototypeFree, setHeader } from '../../lib/http/headers.ts';

/**
 * A list field. Traefik's file loader (paerser file/raw_node.go decodeRaw) flattens a YAML/TOML list to one
 * comma-joined value and its populator splits it again, so a bare string is a list too: the headers page's own CORS
 * example writes `accessControlAllowHeaders: "*"`, and `"GET,PUT"` means two methods.
 */
const stringList = z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(z.string()));

export const headersSchema = z
  .object({
    customRequestHeaders: z.record(z.string(), z.string()).optional(),
    customResponseHeaders: z.record(z.string(), z.string()).optional(),
    accessControlAllowCredentials: z.boolean().optional(),
    accessControlAllowHeaders: stringList.optional(),
    accessControlAllowMethods: stringList.optional(),
    accessControlAllowOriginList: stringList.optional(),
    accessControlAllowOriginListRegex: z.array(z.string()).optional(), // a regexp may hold commas: no splitting
    accessControlExposeHeaders: stringList.optional(),
    accessControlMaxAge: z.number().int().optional(),
    addVaryHeader: z.boolean().optional(),
    allowedHosts: stringList.optional(),
    hostsProxyHeaders: stringList.optional(),
    sslProxyHeaders: z.record(z.string(), z.string()).optional(),
    stsSeconds: z.number().int().min(0).optional(),
    stsIncludeSubdomains: z.boolean().optional(),
    stsPreload: z.boolean().optional(),
    forceSTSHeader: z.boolean().optional(),
    frameDeny: z.boolean().optional(),
    customFrameOptionsValue: z.string().optional(),
    contentTypeNosniff: z.boolean().optional(),
    browserXssFilter: z.boolean().optional(),
    customBrowserXSSValue: z.string().optional(),
    contentSecurityPolicy: z.string().optional(),
    contentSecurityPolicyReportOnly: z.string().optional(),
    publicKey: z.string().optional(),
    referrerPolicy: z.string().optional(),
    permissionsPolicy: z.string().optional(),
    isDevelopment: z.boolean().optional(),
  })
  .strict();
export type HeadersConfig = z.infer<typeof headersSchema>;

type HeaderEdit = readonly [name: string, value: string | null];

function edits(map: Record<string, string> | undefined): HeaderEdit[] {
  return Object.entries(map ?? {}).map(([k, v]) => [k.toLowerCase(), v === '' ? null : v] as const);
}

registerMiddleware('headers', {
  schema: headersSchema,
  create(config) {
    const requestEdits = edits(config.customRequestHeaders);
    const responseEdits = edits(config.customResponseHeaders);

    // CORS
    const originList = config.accessControlAllowOriginList ?? [];
    const originRegexes = (config.accessControlAllowOriginListRegex ?? []).map((r) => compileGoRegexp(r));
    const allowHeaders = (config.accessControlAllowHeaders ?? []).join(',');
    const allowMethods = (config.accessControlAllowMethods ?? []).join(',');
    const exposeHeaders = (config.accessControlExposeHeaders ?? []).join(',');
    const maxAge = String(config.accessControlMaxAge ?? 0);
    const allowCredentials = config.accessControlAllowCredentials === true;
    const hasCors =
      originList.length > 0 || originRegexes.length > 0 || allowHeaders !== '' || allowMethods !== '' ||
      exposeHeaders !== '' || allowCredentials || config.accessControlMaxAge !== undefined || config.addVaryHeader === true;
    const allowedOrigin = (origin: string | undefined): string | undefined => {
      if (origin === undefined) return undefined;
      for (const item of originList) if (item === '*' || item === origin) return item;
      for (const re of originRegexes) if (re.test(origin)) return origin;
      return undefined;
    };

    // Security headers (unrolled/secure)
    const dev = config.isDevelopment === true;
    const security: Array<[string, string]> = [];
    if (config.customFrameOptionsValue) security.push(['x-frame-options', config.customFrameOptionsValue]);
    else if (config.frameDeny) security.push(['x-frame-options', 'DENY']);
    if (config.contentTypeNosniff) security.push(['x-content-type-options', 'nosniff']);
    if (config.customBrowserXSSValue) security.push(['x-xss-protection', config.customBrowserXSSValue]);
    else if (config.browserXssFilter) security.push(['x-xss-protection', '1; mode=block']);
    if (config.contentSecurityPolicy) security.push(['content-security-policy', config.contentSecurityPolicy]);
    if (config.contentSecurityPolicyReportOnly) security.push(['content-security-policy-report-only', config.contentSecurityPolicyReportOnly]);
    if (config.publicKey) security.push(['public-key-pins', config.publicKey]);
    if (config.referrerPolicy) security.push(['referrer-policy', config.referrerPolicy]);
    if (config.permissionsPolicy) security.push(['permissions-policy', config.permissionsPolicy]);
    let sts = '';
    if (config.stsSeconds && config.stsSeconds > 0 && !dev) {
      sts = `max-age=${config.stsSeconds}`;
      if (config.stsIncludeSubdomains) sts += '; includeSubDomains';
      if (config.stsPreload) sts += '; preload';
    }
    const forceSts = config.forceSTSHeader === true;
    const sslProxyHeaders = Object.entries(config.sslProxyHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
    const isSsl = (req: GatewayRequest): boolean => {
      if (req.tls) return true;
      for (const [k, v] of sslProxyHeaders) if (requestHeader(req, k) === v) return true;
      return false;
    };
    const allowedHosts = dev ? [] : (config.allowedHosts ?? []);
    const hostsProxyHeaders = (config.hostsProxyHeaders ?? []).map((h) => h.toLowerCase());
    const hostAllowed = (req: GatewayRequest): boolean => {
      let host = rawHost(req);
      for (const h of hostsProxyHeaders) {
        const v = requestHeader(req, h);
        if (v) {
          host = v;
          break;
        }
      }
      return allowedHosts.includes(host);
    };

    const touchesResponse = responseEdits.length > 0 || hasCors || security.length > 0 || sts !== '';
    const vary = config.addVaryHeader === true;

    const modifyResponse = (_status: number, headers: ResponseHeaders, req: GatewayRequest): void => {
      for (const [name, value] of security) setHeader(headers, name, value);
      if (sts !== '' && (forceSts || isSsl(req))) setHeader(headers, 'strict-transport-security', sts);
      for (const [name, value] of responseEdits) {
        if (value === null) deleteHeader(headers, name);
        else setHeader(headers, name, value);
      }
      if (!hasCors) return;
      const match = allowedOrigin(requestHeader(req, 'origin'));
      if (match !== undefined) setHeader(headers, 'access-control-allow-origin', match);
      if (allowCredentials) setHeader(headers, 'access-control-allow-credentials', 'true');
      if (exposeHeaders !== '') setHeader(headers, 'access-control-expose-headers', exposeHeaders);
      if (vary) {
        const current = getHeaderString(headers, 'vary') ?? '';
        if (current !== 'Origin') setHeader(headers, 'vary', current === '' ? 'Origin' : `${current},Origin`);
      }
    };

    return (next) => (req, rw) => {
      if (allowedHosts.length > 0 && !hostAllowed(req)) {
        writeError(rw, 500, 'Bad Host');
        return Promise.resolve();
      }
      if (hasCors && req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined && req.headers.origin !== undefined) {
        // A CORS preflight is answered here and never reaches the service.
        const headers = prototypeFree<ResponseHeaders>();
        if (allowCredentials) headers['access-control-allow-credentials'] = 'true';
        if (allowHeaders !== '') headers['access-control-allow-headers'] = allowHeaders;
        if (allowMethods !== '') headers['access-control-allow-methods'] = allowMethods;
        const match = allowedOrigin(requestHeader(req, 'origin'));
        if (match !== undefined) headers['access-control-allow-origin'] = match;
        headers['access-control-max-age'] = maxAge;
        for (const [name, value] of security) headers[name] = value;
        rw.writeHead(200, headers);
        rw.end();
        return Promise.resolve();
      }
      for (const [name, value] of requestEdits) {
        if (value === null) delete req.headers[name];
        else req.headers[name] = value;
      }
      if (!touchesResponse) return next(req, rw);
      return next(req, new HeaderHookWriter(rw, modifyResponse, req));
    };
  },
});
