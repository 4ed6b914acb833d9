/**
 * redirectScheme: sends the client to the same URL on another scheme (and port). X-Forwarded-Proto decides
 * the current scheme when present, so a request that already came over https through a TLS-terminating
 * proxy is not redirected again (Traefik pkg/middlewares/redirect/redirect_scheme.go).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileGoRegexp } from '../../lib/go-regexp/index.ts';
import { rawHost, requestHeader } from '../http/request.ts';
import { redirectHandler } from './redirect.ts';

export const redirectSchemeSchema = z
  .object({
    scheme: z.string().min(1, 'you must provide a target scheme'),
    port: z.union([z.string(), z.number()]).transform(String).optional(),
    permanent: z.boolean().default(false),
  })
  .strict();

// scheme://host:port/uri, each part captured (host may be an IPv6 literal in brackets); Traefik's own Go regexp.
const URL_PATTERN = compileGoRegexp(String.raw`^(https?:\/\/)?(\[[\w:.]+\]|[\w._-]+)?(:\d+)?(.*)$`);

registerMiddleware('redirectScheme', {
  schema: redirectSchemeSchema,
  create(config) {
    const { scheme } = config;
    const defaultPort = (scheme === 'http' && config.port === '80') || (scheme === 'https' && config.port === '443');
    const port = config.port && !defaultPort ? `:${config.port}` : '';
    return (next) =>
      redirectHandler(next, {
        regex: URL_PATTERN,
        replacement: `${scheme}://\${2}${port}\${4}`,
        permanent: config.permanent,
        clientUrl: (req) => {
          const host = rawHost(req);
          let hostname = host;
          let hostPort = '';
          const m = /^(\[[^\]]+\]|[^:]+)(:\d+)?$/.exec(host);
          if (m) {
            hostname = m[1]!;
            hostPort = m[2] ?? '';
          }
          let current = req.tls ? 'https' : 'http';
          const proto = requestHeader(req, 'x-forwarded-proto');
          // A previous hop may say ws/wss for an upgrade request; only http and https make sense here.
          if (proto) {
            const p = proto.toLowerCase();
            if (p === 'http' || p === 'ws') current = 'http';
            else if (p === 'https' || p === 'wss') current = 'https';
          }
          if ((current === 'http' && hostPort === ':80') || (current === 'https' && hostPort === ':443')) hostPort = '';
          return `${current}://${hostname}${hostPort}${req.url}`;
        },
      });
  },
});
