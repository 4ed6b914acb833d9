/**
 * The `kubernetes` auth method's Config, checked as Consul's agent/consul/authmethod/kubeauth/k8s.go NewValidator
 * does: `Host` (a host, host:port or URL of the API server), `CACert` (PEM, must parse as certificates) and
 * `ServiceAccountJWT` (the reviewer's credential, must parse as a JWT) are all required; unknown keys are refused as
 * Consul's strict decoding does (the Enterprise-only namespace mapping keys included).
 */
import { X509Certificate } from 'node:crypto';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { parseMethodConfig } from '../config-schema.ts';
import { ErrAuthMethodInvalid } from '../errors.ts';

const Schema = z.strictObject({
  Host: z.string().optional(),
  CACert: z.string().optional(),
  ServiceAccountJWT: z.string().optional(),
});

export interface KubernetesConfig {
  /** The API server's base URL (`https://` added when Host has no scheme). */
  readonly baseUrl: URL;
  readonly caCert: string;
  readonly serviceAccountJwt: string;
}

export function parseKubernetesConfig(raw: Record<string, unknown>): KubernetesConfig {
  const { Host = '', CACert = '', ServiceAccountJWT = '' } = parseMethodConfig(Schema, raw);
  if (Host === '') throw ErrAuthMethodInvalid('Invalid Auth Method: Config.Host is required');
  let baseUrl: URL;
  try {
    baseUrl = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(Host) ? Host : `https://${Host}`);
  } catch {
    throw ErrAuthMethodInvalid(`Invalid Auth Method: Config.Host: not a host, host:port or URL: ${JSON.stringify(Host)}`);
  }
  if (baseUrl.protocol !== 'https:' && baseUrl.protocol !== 'http:') throw ErrAuthMethodInvalid(`Invalid Auth Method: Config.Host: expected an http(s) URL, got ${JSON.stringify(Host)}`);
  if (CACert === '') throw ErrAuthMethodInvalid('Invalid Auth Method: Config.CACert is required');
  if (!/-----BEGIN CERTIFICATE-----/.test(CACert)) throw ErrAuthMethodInvalid('Invalid Auth Method: error parsing kubernetes ca cert: data does not contain any valid RSA or ECDSA certificates');
  try {
    new X509Certificate(CACert);
  } catch (err) {
    throw ErrAuthMethodInvalid(`Invalid Auth Method: error parsing kubernetes ca cert: ${(err as Error).message}`);
  }
  if (ServiceAccountJWT === '') throw ErrAuthMethodInvalid('Invalid Auth Method: Config.ServiceAccountJWT is required');
  try {
    decodeJwt(ServiceAccountJWT);
  } catch (err) {
    throw ErrAuthMethodInvalid(`Invalid Auth Method: Config.ServiceAccountJWT is not a valid JWT: ${(err as Error).message}`);
  }
  return { baseUrl, caCert: CACert, serviceAccountJwt: ServiceAccountJWT };
}
