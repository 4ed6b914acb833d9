/**
 * Registration-time validation with Consul's rules and messages (agent/structs CheckType.Validate plus the agent
 * endpoint's status check). Consul checks a URL or address only when the check runs, and so do we.
 */
import { MAX_GO_DURATION_MS } from '../duration.ts';
import { CheckErrors } from './errors.ts';
import { isCheckStatus, type CheckDefinition, type CheckKind } from './types.ts';

const DURATION_FIELDS = ['Interval', 'Timeout', 'TTL', 'DeregisterCriticalServiceAfter'] as const;
const COUNT_FIELDS = ['SuccessBeforePassing', 'FailuresBeforeWarning', 'FailuresBeforeCritical', 'OutputMaxSize'] as const;
const STRING_FIELDS = ['CheckID', 'Name', 'ServiceID', 'Notes', 'HTTP', 'Method', 'Body', 'TCP', 'GRPC', 'TLSServerName'] as const;
const BOOLEAN_FIELDS = ['DisableRedirects', 'GRPCUseTLS', 'TLSSkipVerify'] as const;
/** Consul kinds we recognise but do not run: refusing them beats silently treating the check as a TTL check. */
const UNSUPPORTED_KINDS = ['UDP', 'H2PING', 'OSService', 'DockerContainerID', 'AliasNode', 'AliasService'] as const;

/** Throws a 400 MeshgateError naming the offending field when `def` is not a check Consul would accept. */
export function validateCheckDefinition(def: unknown): asserts def is CheckDefinition {
  if (typeof def !== 'object' || def === null || Array.isArray(def)) throw CheckErrors.invalid('check definition must be an object');
  const d = def as Record<string, unknown>;

  for (const f of STRING_FIELDS) {
    if (d[f] !== undefined && typeof d[f] !== 'string') throw CheckErrors.invalid(`${f} must be a string`);
  }
  for (const f of BOOLEAN_FIELDS) {
    if (d[f] !== undefined && typeof d[f] !== 'boolean') throw CheckErrors.invalid(`${f} must be a boolean`);
  }
  for (const f of DURATION_FIELDS) {
    const v = d[f];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw CheckErrors.invalid(`${f} must be a non-negative number of milliseconds`);
    }
    // Consul's fields are Go time.Durations: anything longer cannot be expressed (its decoder refuses it).
    if (typeof v === 'number' && v > MAX_GO_DURATION_MS) throw CheckErrors.invalid(`${f} is longer than the longest duration (2562047h47m16.854775807s)`);
  }
  for (const f of COUNT_FIELDS) {
    const v = d[f];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
      throw CheckErrors.invalid(`${f} must be a non-negative integer`);
    }
  }
  for (const f of ['Args', 'ScriptArgs'] as const) {
    const v = d[f];
    if (v !== undefined && (!Array.isArray(v) || v.some((a) => typeof a !== 'string'))) {
      throw CheckErrors.invalid(`${f} must be an array of strings`);
    }
  }
  if (d.Header !== undefined) {
    const h = d.Header;
    if (typeof h !== 'object' || h === null || Array.isArray(h)) throw CheckErrors.invalid('Header must be an object of string arrays');
    for (const [name, values] of Object.entries(h)) {
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
        throw CheckErrors.invalid(`Header[${JSON.stringify(name)}] must be an array of strings`);
      }
    }
  }
  if (!d.CheckID) throw CheckErrors.invalid('CheckID missing');
  if (d.Status !== undefined && d.Status !== '' && !isCheckStatus(d.Status)) throw CheckErrors.badStatus();
  for (const f of UNSUPPORTED_KINDS) {
    if (d[f] !== undefined && d[f] !== '') throw CheckErrors.unsupported(f);
  }

  const c = def as CheckDefinition;
  const intervalKinds = intervalKindsOf(c);
  const interval = c.Interval ?? 0;
  const ttl = c.TTL ?? 0;
  // Consul's CheckType.Validate, in its order and words.
  if (interval > 0 && ttl > 0) throw CheckErrors.invalid('Interval and TTL cannot both be specified');
  if (intervalKinds.length > 0 && interval <= 0) {
    throw CheckErrors.invalid('Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks');
  }
  if (intervalKinds.length === 0 && ttl <= 0) throw CheckErrors.invalid('TTL must be > 0 for TTL checks');
  if ((c.FailuresBeforeWarning ?? 0) > (c.FailuresBeforeCritical ?? 0)) {
    throw CheckErrors.invalid("FailuresBeforeWarning can't be higher than FailuresBeforeCritical");
  }
  // Consul silently picks one kind by precedence when several are given; we refuse the ambiguity instead.
  if (intervalKinds.length > 1) {
    throw CheckErrors.invalid(`Check type is not valid: only one of Args, HTTP, TCP, GRPC or TTL may be set (got ${intervalKinds.join(', ')})`);
  }
}

/** The kind a validated definition selects. */
export function checkKind(def: CheckDefinition): CheckKind {
  const kinds = intervalKindsOf(def);
  if (kinds.length === 0) return 'ttl';
  const field = kinds[0]!;
  return field === 'Args' ? 'script' : (field.toLowerCase() as CheckKind);
}

/** The script arguments of a definition (Consul accepts both `Args` and `ScriptArgs`). */
export function scriptArgs(def: CheckDefinition): string[] {
  if (def.Args && def.Args.length > 0) return def.Args;
  return def.ScriptArgs ?? [];
}

function intervalKindsOf(def: CheckDefinition): Array<'Args' | 'HTTP' | 'TCP' | 'GRPC'> {
  const kinds: Array<'Args' | 'HTTP' | 'TCP' | 'GRPC'> = [];
  if (scriptArgs(def).length > 0) kinds.push('Args');
  if (def.HTTP) kinds.push('HTTP');
  if (def.TCP) kinds.push('TCP');
  if (def.GRPC) kinds.push('GRPC');
  return kinds;
}
