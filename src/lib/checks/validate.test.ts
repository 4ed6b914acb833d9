import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMeshgateError } from '../errors.ts';
import { checkKind, validateCheckDefinition } from './validate.ts';

function refuses(def: unknown, message: string | RegExp, code = 'MG_CHECK_INVALID'): void {
  assert.throws(
    () => validateCheckDefinition(def),
    (err) => isMeshgateError(err, code) && err.statusCode === 400 && (typeof message === 'string' ? err.message === message : message.test(err.message)),
  );
}

describe('validateCheckDefinition', () => {
  it('uses Consul\'s CheckType.Validate messages', () => {
    refuses({ CheckID: 'a', HTTP: 'http://x' }, 'Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks');
    refuses({ CheckID: 'a', TCP: 'x:1', Interval: 0 }, 'Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks');
    refuses({ CheckID: 'a', HTTP: 'http://x', Interval: 1000, TTL: 1000 }, 'Interval and TTL cannot both be specified');
    refuses({ CheckID: 'a' }, 'TTL must be > 0 for TTL checks');
    refuses({ CheckID: 'a', TTL: 1000, FailuresBeforeWarning: 3, FailuresBeforeCritical: 2 }, "FailuresBeforeWarning can't be higher than FailuresBeforeCritical");
    refuses({ TTL: 1000 }, 'CheckID missing');
    refuses({ CheckID: 'a', TTL: 1000, Status: 'bogus' }, 'Bad check status', 'MG_CHECK_BAD_STATUS');
  });

  it('refuses more than one kind, unsupported kinds and ill-typed fields, naming the field', () => {
    refuses({ CheckID: 'a', HTTP: 'http://x', TCP: 'x:1', Interval: 1000 }, /^Check type is not valid: only one of .* \(got HTTP, TCP\)$/);
    refuses({ CheckID: 'a', UDP: 'x:1', Interval: 1000 }, 'UDP checks are not supported by this agent', 'MG_CHECK_UNSUPPORTED');
    refuses({ CheckID: 'a', TTL: '10s' }, 'TTL must be a non-negative number of milliseconds');
    refuses({ CheckID: 'a', TTL: 1000, FailuresBeforeCritical: 1.5 }, 'FailuresBeforeCritical must be a non-negative integer');
    refuses({ CheckID: 'a', HTTP: 'http://x', Interval: 1000, Header: { 'X-A': 'b' } }, 'Header["X-A"] must be an array of strings');
    refuses({ CheckID: 'a', HTTP: 'http://x', Interval: 1000, TLSSkipVerify: 'yes' }, 'TLSSkipVerify must be a boolean');
    refuses(null, 'check definition must be an object');
  });

  it('accepts each kind and tells which it is', () => {
    const cases = [
      [{ CheckID: 'a', HTTP: 'http://x', Interval: 1000 }, 'http'],
      [{ CheckID: 'a', TCP: 'x:1', Interval: 1000 }, 'tcp'],
      [{ CheckID: 'a', GRPC: 'x:1/svc', Interval: 1000, GRPCUseTLS: true }, 'grpc'],
      [{ CheckID: 'a', Args: ['true'], Interval: 1000 }, 'script'],
      [{ CheckID: 'a', ScriptArgs: ['true'], Interval: 1000 }, 'script'],
      [{ CheckID: 'a', TTL: 1000, FailuresBeforeCritical: 3 }, 'ttl'],
    ] as const;
    for (const [def, kind] of cases) {
      validateCheckDefinition(def);
      assert.equal(checkKind(def), kind);
    }
  });
});
