/** The proxy's coded errors: what a bad registration, flag or upstream failure looks like at its boundary. */
import { defineError } from '../lib/errors.ts';

export const ProxyErrors = {
  /** -sidecar-for / -proxy-id named nothing usable on the agent. */
  registration: defineError('MG_PROXY_REGISTRATION', 400, (why: string) => why),
  /** A flag or a registration field has a value the proxy cannot use. */
  config: defineError('MG_PROXY_CONFIG', 400, (field: string, why: string) => `${field}: ${why}`),
  /** The peer's certificate carries no usable SPIFFE identity, or the wrong one. */
  peerIdentity: defineError('MG_PROXY_PEER_IDENTITY', 403, (why: string) => why),
  /** No healthy instance of any target of an upstream. */
  noHealthyUpstream: defineError('MG_PROXY_NO_HEALTHY_UPSTREAM', 503, (upstream: string) => `no healthy instances for upstream ${JSON.stringify(upstream)}`),
  /** The proxy has no leaf certificate or roots yet. */
  notReady: defineError('MG_PROXY_NOT_READY', 503, (what: string) => `proxy not ready: ${what}`),
};
