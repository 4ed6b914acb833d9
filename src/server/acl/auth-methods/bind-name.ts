/**
 * BindName templates (Consul's lib/template.InterpolateHIL as agent/consul/auth/binder.go uses it): `${value.name}`
 * is replaced by the identity's projected variable, lowercased; text outside `${…}` stays as written. An unknown
 * variable or an unclosed `${` is an error. The result must then be a valid name for the bind type — a service or
 * node identity name, a role name or a policy name — and when lowercasing changed a value, Consul refuses the
 * name with an explanation rather than letting the token silently miss its resource.
 */
import { MeshgateError } from '../../../lib/errors.ts';
import { IDENTITY_NAME } from '../identities.ts';
import type { BindType } from './types.ts';

/** Consul's acl.IsValidRoleName and IsValidPolicyName. */
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;
const POLICY_NAME = /^[A-Za-z0-9\-_]{1,128}$/;

const VALID: Record<BindType, (name: string) => boolean> = {
  service: (n) => n.length <= 256 && IDENTITY_NAME.test(n),
  node: (n) => n.length <= 256 && IDENTITY_NAME.test(n),
  role: (n) => ROLE_NAME.test(n),
  policy: (n) => POLICY_NAME.test(n),
};

/** A template that does not yield a valid name; callers add Consul's context (binding rule checks, login). */
export class BindNameError extends MeshgateError {
  constructor(message: string) {
    super('MG_ACL_AUTH_METHOD_INVALID', 400, message);
    this.name = 'BindNameError';
  }
}

export function interpolate(template: string, vars: Readonly<Record<string, string>>, lowercase: boolean): string {
  let out = '';
  let pos = 0;
  for (;;) {
    const start = template.indexOf('${', pos);
    if (start < 0) return out + template.slice(pos);
    // HIL's escape: `$${` is a literal `${`.
    if (start > 0 && template[start - 1] === '$') {
      out += template.slice(pos, start - 1) + '${';
      pos = start + 2;
      continue;
    }
    const end = template.indexOf('}', start + 2);
    if (end < 0) throw new BindNameError(`error interpreting template: unclosed "\${" at offset ${start}`);
    const name = template.slice(start + 2, end).trim();
    const value = Object.hasOwn(vars, name) ? vars[name]! : undefined;
    if (value === undefined) throw new BindNameError(`error interpreting template: unknown variable accessed: ${name}`);
    out += template.slice(pos, start) + (lowercase ? value.toLowerCase() : value);
    pos = end + 1;
  }
}

/** Consul's computeBindName: interpolate, check the result for the bind type, refuse silently-lowercased values. */
export function computeBindName(bindType: BindType, template: string, vars: Readonly<Record<string, string>>): string {
  const computed = interpolate(template, vars, true);
  if (!VALID[bindType](computed)) throw new BindNameError(`invalid bind name: ${JSON.stringify(computed)}`);
  if (template.includes('${')) {
    const original = interpolate(template, vars, false);
    if (original !== computed) {
      throw new BindNameError(
        `invalid bind name: the projected variables contain uppercase characters (interpolated as ${JSON.stringify(original)} before lowercasing), ` +
          'but bind names for this type must be lowercase; ensure the bound service or node name is lowercase',
      );
    }
  }
  return computed;
}

/** Consul's IsValidBindingRule: the template must yield a valid name when every available variable is "fake". */
export function checkBindName(bindType: BindType, template: string, available: readonly string[]): void {
  const fake: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of available) fake[name] = 'fake';
  try {
    computeBindName(bindType, template, fake);
  } catch (err) {
    throw new BindNameError(`failed to validate bindType ${JSON.stringify(bindType)}: ${(err as Error).message}`);
  }
}
