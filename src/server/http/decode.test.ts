import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { canonicalizeKeys, decodeBody, ErrRequestDecode, goDuration, goMap, parseJsonBody } from './decode.ts';
import { isMeshgateError } from '../../lib/errors.ts';

// A trimmed agent service registration (structs.ServiceDefinition with CheckType).
const Check = z.object({
  CheckID: z.string().optional(),
  Name: z.string().optional(),
  HTTP: z.string().optional(),
  Header: z.record(z.string(), z.array(z.string())).optional(),
  ScriptArgs: z.array(z.string()).optional(),
  Interval: goDuration().optional(),
  Timeout: goDuration().optional(),
  TTL: goDuration().optional(),
  DeregisterCriticalServiceAfter: goDuration().optional(),
  TLSSkipVerify: z.boolean().optional(),
  DockerContainerID: z.string().optional(),
});
const Upstream = z.object({
  DestinationName: z.string(),
  LocalBindPort: z.number().int(),
  Config: z.record(z.string(), z.unknown()).optional(),
});
const Service = z.object({
  ID: z.string().optional(),
  Name: z.string(),
  Tags: z.array(z.string()).optional(),
  Port: z.number().int().optional(),
  Meta: z.record(z.string(), z.string()).optional(),
  TaggedAddresses: z.record(z.string(), z.object({ Address: z.string(), Port: z.number().int() })).optional(),
  EnableTagOverride: z.boolean().optional(),
  Check: Check.optional(),
  Checks: z.array(Check).optional(),
  Proxy: z.object({ DestinationServiceName: z.string().optional(), Upstreams: z.array(Upstream).optional() }).nullable().optional(),
});
// api.SessionEntry as python-consul sends it.
const Session = z.object({
  Name: z.string().optional(),
  TTL: z.string().optional(),
  Behavior: z.enum(['release', 'delete']).optional(),
  LockDelay: goDuration().optional(),
});

function decodeError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isMeshgateError(err, ErrRequestDecode.code), String(err));
    assert.equal(err.statusCode, 400);
    return err.message;
  }
  assert.fail('expected a decode error');
}

describe('decodeBody: field names', () => {
  it('matches keys case-insensitively (python-consul sends lower case)', () => {
    const out = decodeBody(Session, { name: 'lock', ttl: '15s', behavior: 'delete', lockdelay: '1s' });
    assert.deepEqual(out, { Name: 'lock', TTL: '15s', Behavior: 'delete', LockDelay: 1000 });
  });

  it('prefers the exact spelling over a case-folded one, and the later of two folded ones', () => {
    assert.equal(decodeBody(Service, { name: 'a', Name: 'b', NAME: 'c' }).Name, 'b');
    assert.equal(decodeBody(Service, { name: 'a', NAME: 'c' }).Name, 'c');
  });

  it('translates Consul snake_case aliases, canonical winning over the alias', () => {
    const out = decodeBody(Service, {
      name: 'web',
      enable_tag_override: true,
      tagged_addresses: { lan: { address: '10.0.0.1', port: 80 } },
      check: { args: ['/bin/true'], interval: '10s', deregister_critical_service_after: '1m', tls_skip_verify: true, docker_container_id: 'c1' },
    });
    assert.equal(out.EnableTagOverride, true);
    assert.deepEqual(out.TaggedAddresses, { lan: { Address: '10.0.0.1', Port: 80 } });
    assert.deepEqual(out.Check, {
      ScriptArgs: ['/bin/true'], Interval: 10_000, DeregisterCriticalServiceAfter: 60_000, TLSSkipVerify: true, DockerContainerID: 'c1',
    });
    const both = decodeBody(Check, { DeregisterCriticalServiceAfter: '2h', deregister_critical_service_after: '3h', script_args: ['b'], ScriptArgs: ['a'] });
    assert.equal(both.DeregisterCriticalServiceAfter, 7_200_000);
    assert.deepEqual(both.ScriptArgs, ['a']);
  });

  it('applies an alias only where the schema has its canonical field', () => {
    // `args` means ScriptArgs in a check; at the service level there is no ScriptArgs, so it is just unknown.
    const out = decodeBody(Service, { Name: 'x', args: ['nope'] });
    assert.equal('ScriptArgs' in out, false);
    assert.deepEqual(decodeBody(z.object({ Foo: z.string() }), { legacy_foo: 'y' }, { aliases: { legacy_foo: 'Foo' } }), { Foo: 'y' });
  });

  it('walks nested objects, arrays of objects and nullable/optional wrappers', () => {
    const out = decodeBody(Service, {
      NAME: 'web',
      checks: [{ http: 'http://x', INTERVAL: '5s' }, { ttl: '30s', Name: 'ttl' }],
      proxy: { destination_service_name: 'web', upstreams: [{ destination_name: 'db', local_bind_port: 5432 }] },
    });
    assert.deepEqual(out.Checks, [{ HTTP: 'http://x', Interval: 5000 }, { TTL: 30_000, Name: 'ttl' }]);
    assert.deepEqual(out.Proxy, { DestinationServiceName: 'web', Upstreams: [{ DestinationName: 'db', LocalBindPort: 5432 }] });
  });

  it('leaves keys inside free-form maps alone', () => {
    const out = decodeBody(Service, {
      Name: 'web',
      meta: { enable_tag_override: 'kept', NAME: 'Kept', version: '1' },
      check: { header: { 'x-Custom': ['a'], name: ['b'] } },
      proxy: { upstreams: [{ DestinationName: 'db', LocalBindPort: 1, config: { connect_timeout_ms: 5, Protocol: 'http' } }] },
    });
    assert.deepEqual(out.Meta, { enable_tag_override: 'kept', NAME: 'Kept', version: '1' });
    assert.deepEqual(out.Check?.Header, { 'x-Custom': ['a'], name: ['b'] });
    assert.deepEqual(out.Proxy?.Upstreams?.[0]?.Config, { connect_timeout_ms: 5, Protocol: 'http' });
  });

  it('ignores unknown fields by default and rejects them in Consul\'s words when asked', () => {
    assert.deepEqual(decodeBody(Session, { Name: 'a', Bogus: 1, Node: 'n1' }), { Name: 'a' });
    assert.equal(decodeError(() => decodeBody(Session, { Name: 'a', Bogus: 1 }, { unknownFields: 'reject' })), 'Request decode failed: json: unknown field "Bogus"');
    assert.equal(
      decodeError(() => decodeBody(Service, { Name: 'a', Check: { Bogus: 1 } }, { unknownFields: 'reject' })),
      'Request decode failed: json: unknown field "Bogus" in Check',
    );
  });

  it('treats null as absent for fields that cannot be null, and keeps it where they can', () => {
    const out = decodeBody(Service, { Name: 'web', Tags: null, Meta: null, Proxy: null });
    assert.deepEqual(out, { Name: 'web', Proxy: null });
  });

  it('canonicalizeKeys exposes the key pass alone', () => {
    assert.deepEqual({ ...(canonicalizeKeys(Session, { name: 'a', extra: 1 }) as object) }, { Name: 'a' });
  });
});

describe('goDuration', () => {
  const cases: [unknown, number][] = [
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1.9067416191101074s', 1906.7416191101074],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['0', 0],
    [10_000_000_000, 10_000], // nanoseconds, encoding/json's time.Duration
    [2000, 0.002],
    ['-50ms', -50],
  ];
  for (const [input, ms] of cases) {
    it(`${JSON.stringify(input)} → ${ms}ms`, () => assert.equal(decodeBody(Check, { Interval: input }).Interval, ms));
  }

  it('names the field and quotes the bad text the way Go\'s time package does', () => {
    assert.equal(decodeError(() => decodeBody(Check, { Interval: 'x2h0m0s' })), 'Request decode failed: Interval: time: invalid duration "x2h0m0s"');
    assert.equal(decodeError(() => decodeBody(Check, { Interval: '' })), 'Request decode failed: Interval: time: invalid duration ""');
    assert.equal(decodeError(() => decodeBody(Check, { interval: '10' })), 'Request decode failed: Interval: time: missing unit in duration "10"');
    // Past Go's time.Duration range (int64 ns, 2562047h47m16.854775807s) time.ParseDuration and encoding/json refuse.
    assert.equal(decodeError(() => decodeBody(Check, { TTL: '2562048h' })), 'Request decode failed: TTL: time: invalid duration "2562048h"');
    assert.equal(decodeBody(Check, { TTL: '2562047h' }).TTL, 2562047 * 3_600_000);
    assert.equal(decodeError(() => decodeBody(Check, { TTL: 1e19 })), 'Request decode failed: TTL: json: cannot unmarshal number 10000000000000000000 into Go value of type time.Duration');
    assert.equal(
      decodeError(() => decodeBody(Service, { Name: 'a', Checks: [{}, { TTL: true }] })),
      'Request decode failed: Checks[1].TTL: invalid duration: expected a string such as "10s" or nanoseconds, got bool',
    );
  });
});

describe('decodeBody: wrong types name the field', () => {
  it('reports a type mismatch with its path, in encoding/json\'s words', () => {
    assert.equal(
      decodeError(() => decodeBody(Service, { Name: 'web', Port: '8080' })),
      'Request decode failed: json: cannot unmarshal string into Go struct field Port of type number',
    );
    assert.equal(
      decodeError(() => decodeBody(Service, { Name: 'web', proxy: { upstreams: [{ destination_name: 'db', local_bind_port: 'x' }] } })),
      'Request decode failed: json: cannot unmarshal string into Go struct field Proxy.Upstreams[0].LocalBindPort of type number',
    );
    assert.equal(
      decodeError(() => decodeBody(Service, { Name: 'web', tags: 'v1' })),
      'Request decode failed: json: cannot unmarshal string into Go struct field Tags of type slice',
    );
    assert.equal(
      decodeError(() => decodeBody(Service, { Name: 'web', Meta: { 'a.b': 1 } })),
      'Request decode failed: json: cannot unmarshal number 1 into Go struct field Meta["a.b"] of type string',
    );
  });

  it('reports a missing required field and other validation failures with the path', () => {
    assert.equal(decodeError(() => decodeBody(Service, { Port: 1 })), 'Request decode failed: missing required field "Name"');
    assert.match(decodeError(() => decodeBody(Session, { behavior: 'explode' })), /^Request decode failed: Behavior: /);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON and answers malformed or empty bodies with a 400', () => {
    assert.deepEqual(parseJsonBody('{"Name":"x"}'), { Name: 'x' });
    assert.equal(decodeError(() => parseJsonBody('')), 'Request decode failed: EOF');
    assert.match(decodeError(() => parseJsonBody('{"Name":')), /^Request decode failed: invalid JSON: /);
  });
});

describe('parseJsonBody: text that cannot be stored as UTF-8', () => {
  it('refuses a lone surrogate in a value or a field name, naming where', () => {
    assert.equal(decodeError(() => parseJsonBody('{"Ops":[{"Key":"a\\ud800"}]}')), 'Request decode failed: Ops[0].Key: string is not valid Unicode (lone UTF-16 surrogate)');
    assert.equal(decodeError(() => parseJsonBody('{"Meta":{"\\udc00":"v"}}')), 'Request decode failed: Meta: field name is not valid Unicode (lone UTF-16 surrogate)');
    assert.equal(decodeError(() => parseJsonBody('"\\ud800"')), 'Request decode failed: body: string is not valid Unicode (lone UTF-16 surrogate)');
  });

  it('keeps a surrogate pair and other escapes', () => {
    assert.deepEqual(parseJsonBody('{"K":"\\ud83d\\ude00\\u00e9\\\\u"}'), { K: '\u{1F600}é\\u' });
  });
});

describe('goMap: map keys are data', () => {
  it('keeps __proto__ and constructor keys (zod\'s record drops __proto__) and returns a prototype-free map', () => {
    const Body = z.object({ Meta: goMap(z.string()).optional(), Tagged: goMap(z.object({ Port: z.number() })).optional() });
    const out = decodeBody(Body, JSON.parse('{"meta":{"__proto__":"p","constructor":"c"},"tagged":{"__proto__":{"port":1}}}'));
    assert.deepEqual(Object.keys(out.Meta!), ['__proto__', 'constructor']);
    assert.equal(Object.getPrototypeOf(out.Meta), null);
    assert.equal(out.Tagged!['__proto__']!.Port, 1, 'struct values in the map are decoded case-insensitively');
    assert.equal(decodeError(() => decodeBody(Body, { Meta: { a: 1 } })), 'Request decode failed: json: cannot unmarshal number 1 into Go struct field Meta.a of type string');
  });
});
