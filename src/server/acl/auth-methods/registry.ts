/**
 * Auth method types, registered by name (grpc-js's registerResolver shape; Consul's authmethod.Register): `jwt` is
 * registered by jwt/index.ts, and the `kubernetes` type plugs in the same way without touching the core. A type's
 * factory validates the method's Config while building its validator, so creating an auth method and logging in
 * check the same rules.
 */
import type { AuthMethodValidatorFactory } from './types.ts';

const factories = new Map<string, AuthMethodValidatorFactory>();

export function registerAuthMethodType(type: string, factory: AuthMethodValidatorFactory): void {
  factories.set(type, factory);
}

export function authMethodFactory(type: string): AuthMethodValidatorFactory | undefined {
  return factories.get(type);
}

/** Registered type names, sorted (Consul's authmethod.Types, used in its "Type should be one of" message). */
export function authMethodTypes(): string[] {
  return [...factories.keys()].sort();
}
