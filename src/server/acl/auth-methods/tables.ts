/**
 * The auth-method tables of the state store (both backends): `acl-auth-methods` keyed by Name and
 * `acl-binding-rules` keyed by ID, with a secondary index from a rule to its method (listing a method's rules,
 * and deleting them with it).
 */
import { defineIndex } from '../../store/secondary-index.ts';
import type { BindingRuleRow } from './types.ts';

export const AUTH_METHODS_TABLE = 'acl-auth-methods';
export const BINDING_RULES_TABLE = 'acl-binding-rules';
export const RULE_METHOD_INDEX = 'auth-method';

defineIndex<BindingRuleRow>(BINDING_RULES_TABLE, RULE_METHOD_INDEX, (r) => r.AuthMethod);
