import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, ErrInvalidFilter } from './index.ts';
import { CheckServiceNodeFields, HealthCheckFields, ServiceNodeFields } from './schemas.ts';
import { isMeshgateError } from '../../lib/errors.ts';

// /v1/catalog/service/:service elements (structs.ServiceNode), fields omitted where Consul would send zero values.
const catalog = [
  {
    ID: 'n1-id', Node: 'node1', Address: '10.0.0.1', Datacenter: 'dc1',
    TaggedAddresses: { lan: '10.0.0.1', wan: '198.18.0.1' }, NodeMeta: { env: 'prod', rack: 'r1' },
    ServiceID: 'web-1', ServiceName: 'web', ServiceTags: ['v1', 'primary'], ServiceAddress: '10.0.0.1',
    ServiceMeta: { version: '1.2.3' }, ServicePort: 8080, ServiceEnableTagOverride: true,
    ServiceWeights: { Passing: 10, Warning: 1 },
    ServiceTaggedAddresses: { lan: { Address: '10.0.0.1', Port: 8080 } },
  },
  {
    ID: 'n2-id', Node: 'node2', Address: '10.0.0.2', Datacenter: 'dc1',
    TaggedAddresses: { lan: '10.0.0.2' }, NodeMeta: { env: 'staging' },
    ServiceID: 'web-2', ServiceName: 'web', ServiceTags: ['v2'], ServiceAddress: '',
    ServiceMeta: {}, ServicePort: 9090,
  },
  {
    ID: 'n3-id', Node: 'node3', Address: '10.0.0.3', Datacenter: 'dc2',
    ServiceID: 'api-1', ServiceName: 'api', ServiceTags: [], ServicePort: 0, ServiceKind: 'connect-proxy',
    ServiceProxy: { DestinationServiceName: 'web', Upstreams: [{ DestinationName: 'db', LocalBindPort: 5432 }] },
  },
];

// /v1/health/service/:service elements (structs.CheckServiceNode).
const health = [
  {
    Node: { Node: 'node1', Address: '10.0.0.1', Meta: { env: 'prod' } },
    Service: { ID: 'web-1', Service: 'web', Tags: ['v1'], Port: 8080, Meta: { version: '1' } },
    Checks: [
      { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', ServiceID: '' },
      { CheckID: 'service:web-1', Name: 'web http', Status: 'passing', ServiceID: 'web-1', ServiceTags: ['v1'] },
    ],
  },
  {
    Node: { Node: 'node2', Address: '10.0.0.2', Meta: {} },
    Service: { ID: 'web-2', Service: 'web', Tags: ['v2', 'canary'], Port: 9090 },
    Checks: [
      { CheckID: 'serfHealth', Status: 'passing' },
      { CheckID: 'service:web-2', Status: 'critical', Output: 'connection refused' },
    ],
  },
  {
    Node: { Node: 'node3', Address: '10.0.0.3' },
    Service: { ID: 'web-3', Service: 'web', Tags: [], Port: 80 },
    Checks: [],
  },
];

function run<T extends { [k: string]: unknown }>(items: T[], expr: string, schema: Parameters<typeof compileFilter>[1], key: (t: T) => unknown): unknown[] {
  const f = compileFilter(expr, schema);
  return items.filter((i) => f(i)).map(key);
}

describe('compileFilter over catalog service nodes (typed)', () => {
  const cases: [string, string[]][] = [
    ['ServiceName == web', ['web-1', 'web-2']],
    ['ServiceName != web', ['api-1']],
    ['ServiceName == "web"', ['web-1', 'web-2']],
    ['ServiceName == `web`', ['web-1', 'web-2']],
    ['ServiceName == Web', []], // case-sensitive
    ['v1 in ServiceTags', ['web-1']],
    ['"v1" in ServiceTags', ['web-1']],
    ['ServiceTags contains v2', ['web-2']],
    ['ServiceTags not contains v2', ['web-1', 'api-1']],
    ['v9 not in ServiceTags', ['web-1', 'web-2', 'api-1']],
    ['ServiceTags is empty', ['api-1']],
    ['ServiceTags is not empty', ['web-1', 'web-2']],
    ['ServicePort == 8080', ['web-1']],
    ['ServicePort == "0x1f90"', ['web-1']], // Go base-0 integers (quoted: the grammar's numbers are decimal)
    ['ServicePort != 8080', ['web-2', 'api-1']],
    ['ServicePort == 0', ['api-1']],
    ['ServiceEnableTagOverride == true', ['web-1']],
    ['ServiceEnableTagOverride == false', ['web-2', 'api-1']], // absent field is Go's zero value
    ['ServiceEnableTagOverride == T', ['web-1']], // strconv.ParseBool spellings
    ['ServiceAddress == ""', ['web-2', 'api-1']],
    ['NodeMeta.env == prod', ['web-1']],
    ['NodeMeta["env"] == prod', ['web-1']],
    ['NodeMeta.env != prod', ['web-2', 'api-1']], // missing key counts as not equal
    ['NodeMeta.missing == ""', []], // missing key: == is false even against ""
    ['env in NodeMeta', ['web-1', 'web-2']],
    ['rack not in NodeMeta', ['web-2', 'api-1']],
    ['NodeMeta is empty', ['api-1']],
    ['ServiceMeta.version matches "^1\\\\."', ['web-1']],
    ['ServiceMeta.version not matches "^1\\\\."', ['web-2', 'api-1']],
    ['ServiceName matches "^w"', ['web-1', 'web-2']],
    ['ServiceName matches "(?i)^WEB$"', ['web-1', 'web-2']],
    ['ServiceName contains "pi"', ['api-1']], // substring on a string field
    ['ServiceWeights.Passing == 10', ['web-1']],
    ['ServiceTaggedAddresses.lan.Port == 8080', ['web-1']],
    ['TaggedAddresses.wan == "198.18.0.1"', ['web-1']],
    ['ServiceProxy.DestinationServiceName == web', ['api-1']],
    ['ServiceProxy.Upstreams.DestinationName == db', ['api-1']],
    ['ServiceProxy.Upstreams.LocalBindPort == 5432', ['api-1']],
    ['ServiceProxy.Upstreams is empty', ['web-1', 'web-2']],
    ['ServiceName == web and ServicePort == 9090', ['web-2']],
    ['ServiceName == api or ServicePort == 9090', ['web-2', 'api-1']],
    ['not ServiceName == web', ['api-1']],
    ['not not ServiceName == web', ['web-1', 'web-2']],
    ['ServiceName == web and not (v1 in ServiceTags or ServicePort == 8080)', ['web-2']],
    // precedence: not > and > or
    ['ServiceName == api or ServiceName == web and ServicePort == 8080', ['web-1', 'api-1']],
    ['(ServiceName == api or ServiceName == web) and ServicePort == 8080', ['web-1']],
    ['  ( Datacenter == dc2 )  ', ['api-1']],
  ];
  for (const [expr, want] of cases) {
    it(expr, () => assert.deepEqual(run(catalog, expr, ServiceNodeFields, (i) => i.ServiceID), want));
  }
});

describe('compileFilter over health entries (lists of checks match when ANY element matches)', () => {
  const cases: [string, string[]][] = [
    ['Checks.Status == passing', ['web-1', 'web-2']],
    ['Checks.Status == critical', ['web-2']],
    ['Checks.Status != passing', ['web-2']],
    ['not Checks.Status != passing', ['web-1', 'web-3']], // "all checks passing", vacuously true for none
    ['Checks is empty', ['web-3']],
    ['Checks.CheckID == "service:web-1"', ['web-1']],
    ['Checks.Output contains refused', ['web-2']],
    ['v1 in Checks.ServiceTags', ['web-1']],
    ['Service.Tags contains canary', ['web-2']],
    ['canary in Service.Tags', ['web-2']],
    ['Service.Port == 80', ['web-3']],
    ['Service.Meta.version == "1"', ['web-1']],
    ['Node.Meta.env == prod', ['web-1']],
    ['Node.Meta.env != prod', ['web-2', 'web-3']], // absent Meta map behaves as an empty one
    ['Node.Node matches "node[12]"', ['web-1', 'web-2']],
  ];
  for (const [expr, want] of cases) {
    it(expr, () => assert.deepEqual(run(health, expr, CheckServiceNodeFields, (i) => i.Service.ID), want));
  }
});

describe('compileFilter without a schema (runtime types decide)', () => {
  const cases: [string, string[]][] = [
    ['Checks.Status == critical', ['web-2']],
    ['Service.Port == 8080', ['web-1']],
    ['Service.Port == 8080.0', ['web-1']],
    ['v2 in Service.Tags', ['web-2']],
    ['version in Service.Meta', ['web-1']],
    ['Service.Meta.version != "1"', ['web-2', 'web-3']],
    ['Service.Meta is empty', ['web-2', 'web-3']],
    ['Node.Address contains ".0.3"', ['web-3']],
  ];
  for (const [expr, want] of cases) {
    it(expr, () => assert.deepEqual(run(health, expr, undefined, (i) => i.Service.ID), want));
  }

  it('checks only the top-level names when given a list of them', () => {
    const f = compileFilter('Service.Anything == x', ['Node', 'Service', 'Checks']);
    assert.equal(f(health[0]), false);
    assert.throws(() => compileFilter('Foo == x', ['Node', 'Service', 'Checks']), { message: 'Failed to create boolean expression evaluator: Selector "Foo" is not valid' });
  });

  it('booleans compare by strconv.ParseBool and never throw on odd values', () => {
    const f = compileFilter('Enabled == true');
    assert.equal(f({ Enabled: true }), true);
    assert.equal(f({ Enabled: false }), false);
    assert.equal(f({ Enabled: 'true' }), true);
    assert.equal(f(null), false);
    assert.equal(compileFilter('Enabled == 1')({ Enabled: true }), true);
  });
});

describe('compileFilter errors (400, in Consul\'s words)', () => {
  const syntax: [string, string][] = [
    ['Service.Tags contains', '1:22 (21): no match found, expected: [ \\t\\r\\n]'],
    ['Service.Tags contains ', '1:23 (22): no match found, expected: "-", "0", "\\"", "`", [ \\t\\r\\n], [1-9] or [a-zA-Z]'],
    ['ServiceName = web', '1:13 (12): no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not" or [ \\t\\r\\n]'],
    ['32 == 32', '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]'],
    ['x in foo abc', '1:10 (9): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF'],
    ['x in foo and ', '1:14 (13): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]'],
    ['', '1:1 (0): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]'],
    ['ServiceName == "web', '1:20 (19): rule "string": Unterminated string literal'],
    ['ServicePort == 3x', '1:17 (16): rule "number": Invalid number literal'],
    ['NodeMeta[3] == abc', '1:10 (9): rule "index": Invalid index'],
    ['x in NodeMeta["abc"', '1:20 (19): rule "index": Unclosed index expression'],
    ['x in 32', '1:6 (5): rule "match": Invalid selector'],
    ['(ServiceName == web', '1:20 (19): rule "grouping": Unmatched parentheses'],
    ['ServiceName == "é" and\nfoo', '2:4 (27): no match found, expected: "!=", ".", "==", "[", [ \\t\\r\\n] or [a-zA-Z0-9_]'],
  ];
  for (const [expr, detail] of syntax) {
    it(`syntax: ${JSON.stringify(expr)}`, () => {
      assert.throws(() => compileFilter(expr, ServiceNodeFields), (err: unknown) => {
        assert.ok(isMeshgateError(err, ErrInvalidFilter.code));
        assert.equal(err.statusCode, 400);
        assert.equal(err.message, `Failed to create boolean expression evaluator: ${detail}`);
        return true;
      });
    });
  }

  const invalid: [string, string][] = [
    ['Foo == x', 'Selector "Foo" is not valid'],
    ['ServiceProxy.Nope == x', 'Selector "ServiceProxy.Nope" is not valid'],
    ['ServicePort.x == 1', 'Selector "ServicePort.x" is not valid'],
    ['ServiceTags == v1', 'Invalid match operator "Equal" for selector "ServiceTags"'],
    ['ServicePort contains 8', 'Invalid match operator "In" for selector "ServicePort"'],
    ['ServicePort matches "8"', 'Invalid match operator "Matches" for selector "ServicePort"'],
    ['ServiceName is empty', 'Invalid match operator "Is Empty" for selector "ServiceName"'],
    ['NodeMeta.env is empty', 'Invalid match operator "Is Empty" for selector "NodeMeta.env"'],
    ['NodeMeta == x', 'Invalid match operator "Equal" for selector "NodeMeta"'],
    ['ServicePort == abc', 'Failed to coerce value "abc" for selector "ServicePort": strconv.ParseInt: parsing "abc": invalid syntax'],
    ['ServiceEnableTagOverride == yes', 'Failed to coerce value "yes" for selector "ServiceEnableTagOverride": strconv.ParseBool: parsing "yes": invalid syntax'],
    ['ServiceName matches "("', 'Failed to compile regular expression "("'],
  ];
  for (const [expr, detail] of invalid) {
    it(`invalid for the type: ${expr}`, () => {
      assert.throws(() => compileFilter(expr, ServiceNodeFields), (err: unknown) => {
        assert.ok(isMeshgateError(err, 'MG_FILTER_INVALID'));
        assert.ok(err.message.startsWith(`Failed to create boolean expression evaluator: ${detail}`), err.message);
        return true;
      });
    });
  }

  it('validates health-check selectors too', () => {
    assert.throws(() => compileFilter('Checks.Foo == x', CheckServiceNodeFields), { message: /Selector "Checks.Foo" is not valid/ });
    assert.ok(compileFilter('Status == passing', HealthCheckFields)({ Status: 'passing' }));
  });
});
