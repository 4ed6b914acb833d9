/**
 * Sticky sessions as Traefik does them: the cookie carries the first 16 hex digits of SHA-256 of the chosen
 * handler's name (the server URL for a load balancer, the child service name for `weighted`); an unknown value or
 * a handler that went down falls back to normal balancing and the cookie is rewritten. The default cookie name is
 * Traefik's: `_` and the first 6 hex digits of SHA-1 of `_TRAEFIK_BACKEND_<service>`.
 */
import { createHash } from 'node:crypto';
import type { CookieConfig } from './schema.ts';

export function stickyHash(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 16);
}

export function defaultCookieName(service: string): string {
  return `_${createHash('sha1').update(`_TRAEFIK_BACKEND_${service}`).digest('hex')}`.slice(0, 7);
}

/** Go's http.Cookie sanitizing of a name: only token characters survive. */
function sanitizeName(name: string): string {
  return name.replace(/[^!#$%&'*+\-.^_`|~0-9A-Za-z]/g, '-');
}

export class StickyCookie {
  readonly name: string;
  /** `name=` as it appears in a Cookie header. */
  private readonly needle: string;
  private readonly attributes: string;

  constructor(service: string, config: CookieConfig) {
    this.name = config.name ? sanitizeName(config.name) : defaultCookieName(service);
    this.needle = `${this.name}=`;
    let attributes = `; Path=${config.path ?? '/'}`;
    if (config.domain) attributes += `; Domain=${config.domain}`;
    if (config.maxAge !== undefined && config.maxAge > 0) attributes += `; Max-Age=${config.maxAge}`;
    else if (config.maxAge !== undefined && config.maxAge < 0) attributes += '; Max-Age=0';
    if (config.httpOnly) attributes += '; HttpOnly';
    if (config.secure) attributes += '; Secure';
    switch (config.sameSite) {
      case 'none': attributes += '; SameSite=None'; break;
      case 'lax': attributes += '; SameSite=Lax'; break;
      case 'strict': attributes += '; SameSite=Strict'; break;
      default: break;
    }
    this.attributes = attributes;
  }

  /** The full Set-Cookie value for a hash (computed once per handler by the caller). */
  setCookie(hash: string): string {
    return `${this.name}=${hash}${this.attributes}`;
  }

  /** The cookie's value in a Cookie header, without parsing the rest of the header. */
  read(cookieHeader: string | undefined): string | undefined {
    if (cookieHeader === undefined) return undefined;
    let from = 0;
    for (;;) {
      const at = cookieHeader.indexOf(this.needle, from);
      if (at === -1) return undefined;
      const before = at === 0 ? 32 : cookieHeader.charCodeAt(at - 1);
      if (at === 0 || before === 32 || before === 59) {
        const start = at + this.needle.length;
        const end = cookieHeader.indexOf(';', start);
        let value = (end === -1 ? cookieHeader.slice(start) : cookieHeader.slice(start, end)).trim();
        if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        return value;
      }
      from = at + 1;
    }
  }
}

export function appendSetCookie(headers: Record<string, string | string[]>, value: string): void {
  const existing = headers['set-cookie'];
  if (existing === undefined) headers['set-cookie'] = value;
  else headers['set-cookie'] = ([] as string[]).concat(existing, value);
}
