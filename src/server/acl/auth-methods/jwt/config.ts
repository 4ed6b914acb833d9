/**
 * The `jwt` auth method's Config (Consul's internal/go-sso/oidcauth Config, validated as its Validate does for
 * type "jwt"): exactly one key source — `JWTValidationPubKeys` (PEM public keys or certificates) or `JWKSURL`
 * (with `JWKSCACert` for a private CA); `OIDCDiscoveryURL` and the OIDC-flow fields are Consul features Meshgate
 * leaves out and are refused by name. Unknown keys are refused as Consul's strict decoding does.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { decodeDuration } from '../../../../lib/duration.ts';
import { parseMethodConfig } from '../config-schema.ts';
import { ErrAuthMethodInvalid } from '../errors.ts';

/** Asymmetric JWS algorithms (go-sso's SupportedSigningAlgs); the default is RS256, as Consul's. */
export const SUPPORTED_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;

const OIDC_ONLY = ['OIDCClientID', 'OIDCClientSecret', 'OIDCScopes', 'OIDCACRValues', 'AllowedRedirectURIs', 'VerboseOIDCLogging'] as const;
const NOT_SUPPORTED = ['OIDCDiscoveryURL', 'OIDCDiscoveryCACert'] as const;

const duration = z.union([z.string(), z.number()]).optional();
const Schema = z.strictObject({
  JWTValidationPubKeys: z.array(z.string()).optional(),
  JWKSURL: z.string().optional(),
  JWKSCACert: z.string().optional(),
  JWTSupportedAlgs: z.array(z.string()).optional(),
  BoundIssuer: z.string().optional(),
  BoundAudiences: z.array(z.string()).optional(),
  ClaimMappings: z.record(z.string(), z.string()).optional(),
  ListClaimMappings: z.record(z.string(), z.string()).optional(),
  ExpirationLeeway: duration,
  NotBeforeLeeway: duration,
  ClockSkewLeeway: duration,
  ...Object.fromEntries([...OIDC_ONLY, ...NOT_SUPPORTED].map((k) => [k, z.unknown().optional()])),
});

export interface JwtConfig {
  readonly staticKeys: readonly KeyObject[];
  readonly jwksUrl?: string;
  readonly jwksCaCert?: string;
  readonly algorithms: readonly string[];
  readonly boundIssuer: string;
  readonly boundAudiences: readonly string[];
  /** claim (a name, or a JSON pointer starting with "/") → identity field name. */
  readonly claimMappings: Readonly<Record<string, string>>;
  readonly listClaimMappings: Readonly<Record<string, string>>;
  /** ms; Consul's sign convention: 0 = default, negative = none. */
  readonly expirationLeewayMs: number;
  readonly notBeforeLeewayMs: number;
  readonly clockSkewLeewayMs: number;
}

export function parseJwtConfig(raw: Record<string, unknown>): JwtConfig {
  const c = parseMethodConfig(Schema, raw) as z.infer<typeof Schema> & Record<string, unknown>;
  for (const key of OIDC_ONLY) if (isSet(c[key])) throw ErrAuthMethodInvalid(`Invalid Auth Method: '${key}' must not be set for type "jwt"`);
  for (const key of NOT_SUPPORTED) if (isSet(c[key])) throw ErrAuthMethodInvalid(`Invalid Auth Method: '${key}' is not supported by meshgate (use JWKSURL or JWTValidationPubKeys)`);
  const pubKeys = c.JWTValidationPubKeys ?? [];
  const sources = (pubKeys.length > 0 ? 1 : 0) + (c.JWKSURL ? 1 : 0);
  if (sources !== 1) throw ErrAuthMethodInvalid("Invalid Auth Method: exactly one of 'JWTValidationPubKeys', 'JWKSURL', or 'OIDCDiscoveryURL' must be set for type \"jwt\"");
  if (c.JWKSCACert && !c.JWKSURL) throw ErrAuthMethodInvalid("Invalid Auth Method: 'JWKSCACert' should not be set unless 'JWKSURL' is set");
  if (c.JWKSURL && !/^https?:\/\//.test(c.JWKSURL)) throw ErrAuthMethodInvalid(`Invalid Auth Method: JWKSURL: expected an http(s) URL, got ${JSON.stringify(c.JWKSURL)}`);
  const staticKeys = pubKeys.map((pem, i) => {
    try {
      return createPublicKey(pem);
    } catch (err) {
      throw ErrAuthMethodInvalid(`Invalid Auth Method: error parsing public key JWTValidationPubKeys[${i}]: ${(err as Error).message}`);
    }
  });
  const algorithms = c.JWTSupportedAlgs && c.JWTSupportedAlgs.length > 0 ? c.JWTSupportedAlgs : ['RS256'];
  for (const alg of algorithms) {
    if (!(SUPPORTED_ALGS as readonly string[]).includes(alg)) throw ErrAuthMethodInvalid(`Invalid Auth Method: Invalid supported algorithm: ${alg}`);
  }
  const claimMappings = c.ClaimMappings ?? {};
  const listClaimMappings = c.ListClaimMappings ?? {};
  checkMappings(claimMappings, listClaimMappings);
  return {
    staticKeys,
    ...(c.JWKSURL ? { jwksUrl: c.JWKSURL } : {}),
    ...(c.JWKSCACert ? { jwksCaCert: c.JWKSCACert } : {}),
    algorithms,
    boundIssuer: c.BoundIssuer ?? '',
    boundAudiences: c.BoundAudiences ?? [],
    claimMappings,
    listClaimMappings,
    expirationLeewayMs: leeway(c.ExpirationLeeway, 'ExpirationLeeway'),
    notBeforeLeewayMs: leeway(c.NotBeforeLeeway, 'NotBeforeLeeway'),
    clockSkewLeewayMs: leeway(c.ClockSkewLeeway, 'ClockSkewLeeway'),
  };
}

/** An identity field name may come from one claim only, across both mappings (go-sso validateClaimMappings). */
function checkMappings(values: Record<string, string>, lists: Record<string, string>): void {
  const seen = new Set<string>();
  for (const [kind, mapping] of [['ClaimMappings', values], ['ListClaimMappings', lists]] as const) {
    for (const [claim, field] of Object.entries(mapping)) {
      if (claim === '' || field === '') throw ErrAuthMethodInvalid(`Invalid Auth Method: ${kind} entries need a claim and a name`);
      if (seen.has(field)) throw ErrAuthMethodInvalid(`Invalid Auth Method: ${kind} contains multiple mappings for key ${JSON.stringify(field)}`);
      seen.add(field);
    }
  }
}

function leeway(value: string | number | undefined, field: string): number {
  if (value === undefined || value === '') return 0;
  try {
    return decodeDuration(value, field);
  } catch (err) {
    throw ErrAuthMethodInvalid(`Invalid Auth Method: ${(err as Error).message}`);
  }
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && value !== false && !(Array.isArray(value) && value.length === 0);
}
