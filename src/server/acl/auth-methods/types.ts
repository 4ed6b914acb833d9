import type { FilterFields } from '../../filter/index.ts';

/**
 * What an auth method is made of (Consul's structs.ACLAuthMethod and ACLBindingRule as stored), and what a type's
 * validator gives back for a login (agent/consul/authmethod: Validator and Identity). The identity has two faces:
 * `selectable` is what binding-rule selectors see (`value.<name>` strings and `list.<name>` string lists), and
 * `projected` the variables a BindName may interpolate (`value.<name>`).
 */

export interface AuthMethodRow {
  Name: string;
  Type: string;
  DisplayName: string;
  Description: string;
  /** A Go duration string ("" or absent: tokens do not expire). */
  MaxTokenTTL?: string;
  /** "local" (default) or "global". */
  TokenLocality: string;
  /** The type's own configuration, kept as given (e.g. jwt's JWKSURL, BoundIssuer, ClaimMappings). */
  Config: Record<string, unknown>;
}

export type BindType = 'service' | 'node' | 'role' | 'policy';

export interface BindingRuleRow {
  ID: string;
  Description: string;
  AuthMethod: string;
  Selector: string;
  BindType: BindType;
  BindName: string;
}

export interface Identity {
  /**
   * The selector's view, shaped as the type's validator declares it (`selectableFields`): jwt's
   * `{ value: {…}, list: {…} }`, kubernetes' `{ serviceaccount: { namespace, name, uid } }`.
   */
  readonly selectable: Readonly<Record<string, unknown>>;
  /** `value.<name>` → string, for BindName templates. */
  readonly projected: Readonly<Record<string, string>>;
}

/** One configured auth method's verifier (Consul's authmethod.Validator). */
export interface AuthMethodValidator {
  /** The shape selectors are checked against (go-bexpr's view of the type's SelectableFields); default jwt's. */
  readonly selectableFields?: FilterFields;
  /** An identity with every mapped field present and empty: what selectors and BindNames are checked against. */
  newIdentity(): Identity;
  /** Verifies a login's bearer credential and returns who it names; throws a coded error when it is not valid. */
  validateLogin(bearerToken: string): Promise<Identity>;
  /** Releases what the validator holds (caches, timers). */
  close?(): void;
}

/** Builds a validator from a method's configuration; throws a coded 400 naming the config field when it is invalid. */
export type AuthMethodValidatorFactory = (method: AuthMethodRow) => Promise<AuthMethodValidator>;
