/**
 * The web UI at Consul's content path (`/ui/` by default) and `/` redirected to it with a 301, as Consul's Index
 * handler does (agent/http.go). The files come from the built app (dist/ui) through the shared StaticSite; without
 * a build, `/ui/` answers 404 saying how to build it.
 */
import type { StaticSite } from '../../lib/http/static-files.ts';
import type { ApiResponse, ApiRouter, RequestContext } from '../http/router.ts';

/** Node writes header names as given; the API server spells its own in canonical case, so do these. */
function canonical(headers: Record<string, string>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-length') continue; // the API server computes it from the body
    out[name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())] = value;
  }
  return out;
}

export function registerUiEndpoints(api: ApiRouter, site: StaticSite): void {
  const serve = (ctx: RequestContext): ApiResponse => {
    const header = (name: string) => {
      const v = ctx.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    // HEAD is answered as GET; the API server leaves the body out but keeps its length.
    const answer = site.resolve({ method: 'GET', path: ctx.path, acceptEncoding: header('accept-encoding'), ifNoneMatch: header('if-none-match') });
    if (!answer) return { status: 404, body: '', text: true };
    return { status: answer.status, headers: canonical(answer.headers), body: answer.body };
  };
  const mount = site.mount.replace(/\/$/, '');
  api.get('/', () => ({ status: 301, headers: { Location: site.mount }, body: `<a href="${site.mount}">Moved Permanently</a>.\n\n`, text: true }));
  api.get(mount, serve);
  api.get(`${mount}/*path`, serve);
}
