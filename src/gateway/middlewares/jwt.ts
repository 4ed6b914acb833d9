/**
 * jwt (Meshgate's own kind, not in Traefik): verifies a bearer token with jose against a JWKS URL (cached and
 * refreshed by jose) or static keys (PEM or JWK), checks issuer, audience, algorithms and expiry (with
 * clockTolerance), and copies chosen claims to request headers. Failures answer 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750).
 */
import { createPublicKey, createSecretKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import { z } from 'zod';
import type * as Jose from 'jose';
import type { JWTPayload, JWTVerifyOptions, JWTVerifyGetKey } from 'jose';
import type { ResponseWriter } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';
import { durationSchema } from '../services/schema.ts';
import { requestHeader } from '../http/request.ts';

/** jose is imported with the first token a jwt middleware checks: a gateway without one never loads it. */
let jose: Promise<typeof Jose> | undefined;
const loadJose = () => (jose ??= import('jose'));

const keySchema = z.union([z.string(), z.record(z.string(), z.unknown())]);

export const jwtSchema = z
  .object({
    jwksUrl: z.string().url().optional(),
    keys: z.array(keySchema).optional(),
    issuer: z.union([z.string(), z.array(z.string())]).optional(),
    audience: z.union([z.string(), z.array(z.string())]).optional(),
    algorithms: z.array(z.string()).optional(),
    headerName: z.string().default('Authorization'),
    scheme: z.string().default('Bearer'),
    forwardClaims: z.record(z.string(), z.string()).optional(),
    clockTolerance: durationSchema.optional(),
    realm: z.string().optional(),
    removeHeader: z.boolean().optional(),
  })
  .strict()
  .refine((c) => (c.jwksUrl === undefined) !== (c.keys === undefined || c.keys.length === 0), {
    message: 'exactly one of jwksUrl or keys is required',
    path: ['jwksUrl'],
  });

interface StaticKey {
  kid?: string;
  key: KeyObject;
}

function importKey(value: string | Record<string, unknown>, index: number): StaticKey {
  try {
    if (typeof value === 'string') return { key: createPublicKey(value) };
    const jwk = value as JsonWebKey & { kid?: string };
    const key = jwk.kty === 'oct' ? createSecretKey(Buffer.from(String(jwk.k), 'base64url')) : createPublicKey({ key: jwk, format: 'jwk' });
    return { kid: jwk.kid, key };
  } catch (err) {
    throw new Error(`jwt.keys[${index}]: not a PEM public key or JWK (${(err as Error).message})`, { cause: err });
  }
}

registerMiddleware('jwt', {
  schema: jwtSchema,
  create(config, context) {
    const headerName = config.headerName.toLowerCase();
    const scheme = config.scheme === '' ? '' : `${config.scheme.toLowerCase()} `;
    const claims = Object.entries(config.forwardClaims ?? {}).map(([claim, header]) => [claim, header.toLowerCase()] as const);
    const realm = config.realm ? `realm="${config.realm}", ` : '';
    const missing = config.realm ? `Bearer realm="${config.realm}"` : 'Bearer';
    const invalid = `Bearer ${realm}error="invalid_token"`;
    const removeHeader = config.removeHeader === true;
    const options: JWTVerifyOptions = {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      clockTolerance: config.clockTolerance === undefined ? undefined : Math.round(config.clockTolerance / 1000),
    };

    let verify: (token: string) => Promise<JWTPayload>;
    if (config.jwksUrl) {
      const url = new URL(config.jwksUrl);
      let jwks: JWTVerifyGetKey | undefined;
      verify = async (token) => {
        const { createRemoteJWKSet, jwtVerify } = await loadJose();
        jwks ??= createRemoteJWKSet(url);
        return (await jwtVerify(token, jwks, options)).payload;
      };
    } else {
      const keys = (config.keys ?? []).map(importKey);
      verify = async (token) => {
        const { decodeProtectedHeader, jwtVerify } = await loadJose();
        const { kid } = decodeProtectedHeader(token);
        const byKid = kid === undefined ? undefined : keys.find((k) => k.kid === kid);
        const candidates = byKid ? [byKid] : keys;
        let lastError: unknown;
        for (const candidate of candidates) {
          try {
            return (await jwtVerify(token, candidate.key, options)).payload;
          } catch (err) {
            lastError = err; // try the next key; the last failure is reported
          }
        }
        throw lastError;
      };
    }

    const reject = (rw: ResponseWriter, challenge: string): void => {
      rw.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': challenge });
      rw.end('401 Unauthorized\n');
    };

    return (next) => async (req, rw) => {
      const header = requestHeader(req, headerName);
      if (!header || (scheme !== '' && header.slice(0, scheme.length).toLowerCase() !== scheme)) {
        reject(rw, missing);
        return;
      }
      const token = header.slice(scheme.length).trim();
      let payload: JWTPayload;
      try {
        payload = await verify(token);
      } catch (err) {
        context.logger.debug({ middleware: context.name, reason: (err as Error).message }, 'jwt: token rejected');
        reject(rw, invalid);
        return;
      }
      // Claim headers are always overwritten (or removed) so a client cannot inject them.
      for (const [claim, name] of claims) {
        const value = payload[claim];
        if (value === undefined) delete req.headers[name];
        else req.headers[name] = typeof value === 'string' ? value : JSON.stringify(value);
      }
      if (typeof payload.sub === 'string') req.data.ClientUsername = payload.sub;
      if (removeHeader) delete req.headers[headerName];
      await next(req, rw);
    };
  },
});
