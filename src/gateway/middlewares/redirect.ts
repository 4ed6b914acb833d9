/**
 * The redirect core shared by redirectRegex and redirectScheme (Traefik pkg/middlewares/redirect): the
 * client's URL is rebuilt as a string, rewritten by a regex, and when the rewrite changes it the client is sent
 * to the new location (302/307, or 301/308 when permanent, 307/308 for methods other than GET).
 */
import type { GatewayRequest, Handler, ResponseWriter } from '../http/types.ts';
import { compileGoTemplate, type GoRegexp } from '../../lib/go-regexp/index.ts';
import { statusText } from '../../lib/http/status.ts';

export interface RedirectOptions {
  /** Go regexp over the client URL; the redirect is `regex.ReplaceAllString(url, replacement)`, as in Traefik. */
  regex: GoRegexp;
  replacement: string;
  permanent: boolean;
  /** Builds the URL the client used (scheme://host[:port]/path?query). */
  clientUrl: (req: GatewayRequest) => string;
}

export function redirectHandler(next: Handler, options: RedirectOptions): Handler {
  const { regex, permanent, clientUrl } = options;
  const replacement = compileGoTemplate(options.replacement);
  return (req, rw) => {
    const oldUrl = clientUrl(req);
    if (!regex.test(oldUrl)) return next(req, rw);
    const newUrl = regex.replaceAllString(oldUrl, replacement);
    if (newUrl !== oldUrl) {
      move(req, rw, newUrl, permanent);
      return Promise.resolve();
    }
    return next(req, rw);
  };
}

function move(req: GatewayRequest, rw: ResponseWriter, location: string, permanent: boolean): void {
  const safe = req.method === 'GET'; // Traefik: any other method keeps it (307/308)
  const status = permanent ? (safe ? 301 : 308) : safe ? 302 : 307;
  rw.writeHead(status, { location });
  rw.end(req.method === 'HEAD' ? undefined : statusText(status));
}
