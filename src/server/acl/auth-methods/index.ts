/** Consul's auth methods for `meshgate server`; importing this registers the built-in types (jwt, kubernetes). */
import './jwt/index.ts';
import './kubernetes/index.ts';

export { AuthMethods, type AuthMethodInput, type BindingRuleInput, type LoginInput } from './methods.ts';
export { registerAuthMethodType, authMethodTypes } from './registry.ts';
export { AUTH_METHODS_TABLE, BINDING_RULES_TABLE } from './tables.ts';
export type { AuthMethodRow, AuthMethodValidator, AuthMethodValidatorFactory, BindingRuleRow, Identity } from './types.ts';
