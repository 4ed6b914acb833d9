/**
 * The `jwt` auth method's validator (Consul's authmethod/ssoauth over internal/go-sso/oidcauth ClaimsFromJWT):
 * the signature is checked with the static keys or the JWKS (jose, restricted to `JWTSupportedAlgs`), then the
 * claims as go-sso checks them — a token needs at least one of iat/nbf/exp; a missing exp is latest-start +
 * ExpirationLeeway (default 150 s), a missing nbf is iat or exp − NotBeforeLeeway; iss must equal BoundIssuer when
 * set; exp, nbf and iat are judged with ClockSkewLeeway (default 60 s, go-jose's DefaultLeeway); the audience must
 * meet BoundAudiences, and a token with an audience is refused when none is bound (strict, as for jwt in go-sso).
 */
import { compactVerify, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import { isMeshgateError } from '../../../../lib/errors.ts';
import { ErrAuthMethodInvalid, ErrLoginRejected } from '../errors.ts';
import type { AuthMethodRow, AuthMethodValidator, Identity } from '../types.ts';
import { emptyIdentity, identityFromClaims } from './claims.ts';
import { parseJwtConfig, type JwtConfig } from './config.ts';
import { RemoteJwks } from './jwks.ts';

const CLAIM_DEFAULT_LEEWAY_S = 150;
const DEFAULT_CLOCK_SKEW_S = 60;

export async function createJwtValidator(method: AuthMethodRow): Promise<AuthMethodValidator> {
  const config = parseJwtConfig(method.Config);
  let jwks: RemoteJwks | undefined;
  if (config.jwksUrl) {
    jwks = new RemoteJwks(config.jwksUrl, config.jwksCaCert);
    try {
      await jwks.refresh();
    } catch (err) {
      throw ErrAuthMethodInvalid(`Invalid Auth Method: error checking JWKSURL: ${(err as Error).message}`);
    }
  }
  return {
    newIdentity: () => emptyIdentity(config.claimMappings, config.listClaimMappings),
    async validateLogin(bearerToken: string): Promise<Identity> {
      if (bearerToken === '') throw ErrLoginRejected('missing jwt');
      const claims = await verifySignature(bearerToken, config, jwks);
      checkClaims(claims, config, Date.now());
      return identityFromClaims(claims, config.claimMappings, config.listClaimMappings);
    },
  };
}

async function verifySignature(token: string, config: JwtConfig, jwks: RemoteJwks | undefined): Promise<Record<string, unknown>> {
  const options = { algorithms: [...config.algorithms] };
  let payload: Uint8Array | undefined;
  try {
    if (jwks) {
      payload = (await jwks.withKeys((keys: JWTVerifyGetKey) => compactVerify(token, keys, options))).payload;
    } else {
      payload = await firstVerifying(token, config.staticKeys, options);
      if (!payload) throw ErrLoginRejected('no known key successfully validated the token signature');
    }
  } catch (err) {
    if (isMeshgateError(err, ErrLoginRejected.code)) throw err;
    throw ErrLoginRejected(`error verifying token: ${(err as Error).message}`);
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch (err) {
    throw ErrLoginRejected(`failed to unmarshal claims: ${(err as Error).message}`);
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw ErrLoginRejected('failed to unmarshal claims: not a JSON object');
  return claims as Record<string, unknown>;
}

async function firstVerifying(token: string, keys: readonly KeyObject[], options: { algorithms: string[] }): Promise<Uint8Array | undefined> {
  for (const key of keys) {
    try {
      return (await compactVerify(token, key, options)).payload;
    } catch {
      // this key did not sign it: try the next, as go-sso does over its parsed keys
    }
  }
  return undefined;
}

/** go-sso verifyVanillaJWT's claim rules, then go-jose's ValidateWithLeeway and go-sso's strict validateAudience. */
export function checkClaims(claims: Record<string, unknown>, config: JwtConfig, nowMs: number): void {
  const iat = numericDate(claims.iat, 'iat');
  let exp = numericDate(claims.exp, 'exp');
  let nbf = numericDate(claims.nbf, 'nbf');
  if (iat === 0 && exp === 0 && nbf === 0) throw ErrLoginRejected('no issue time, notbefore, or expiration time encoded in token');
  if (exp === 0) exp = Math.max(iat, nbf) + leewaySeconds(config.expirationLeewayMs, CLAIM_DEFAULT_LEEWAY_S);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - leewaySeconds(config.notBeforeLeewayMs, CLAIM_DEFAULT_LEEWAY_S);
  if (config.boundIssuer !== '' && claims.iss !== config.boundIssuer) throw ErrLoginRejected('error validating claims: validation failed, invalid issuer claim (iss)');
  const skew = leewaySeconds(config.clockSkewLeewayMs, DEFAULT_CLOCK_SKEW_S);
  const now = nowMs / 1000;
  if (now + skew < nbf) throw ErrLoginRejected('error validating claims: validation failed, token not valid yet (nbf)');
  if (now - skew > exp) throw ErrLoginRejected('error validating claims: validation failed, token is expired (exp)');
  if (iat !== 0 && now + skew < iat) throw ErrLoginRejected('error validating claims: validation failed, token issued in the future (iat)');
  const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (config.boundAudiences.length === 0) {
    if (aud.length > 0) throw ErrLoginRejected('error validating claims: audience claim found in JWT but no audiences bound to the role');
  } else if (!aud.some((a) => typeof a === 'string' && config.boundAudiences.includes(a))) {
    throw ErrLoginRejected('error validating claims: aud claim does not match any bound audience');
  }
}

function numericDate(value: unknown, claim: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw ErrLoginRejected(`failed to unmarshal claims: ${claim} is not a number`);
  return Math.trunc(value);
}

/** Consul's leeway convention: negative = none, zero = the default. */
function leewaySeconds(ms: number, defaultSeconds: number): number {
  if (ms < 0) return 0;
  if (ms === 0) return defaultSeconds;
  return Math.trunc(ms / 1000);
}
