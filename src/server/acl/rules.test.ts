/**
 * The rules language, table-driven in the shape of Consul's acl/policy_authorizer_test.go (TestPolicyAuthorizer:
 * a policy, then a list of checks — a question, a name, the expected answer) and acl/policy_test.go
 * (TestPolicySourceParse's invalid cases, each error naming the rule). Behaviour relied on: policy_authorizer.go
 * getPolicy (exact rule, else the longest prefix), enforce (write ⊃ list ⊃ read; deny), KeyWritePrefix, the
 * intention defaults of loadRules, MeshRead falling back to the operator rule, Snapshot needing acl:write;
 * policy_merger.go (for the same name deny > write > list > read); structs/acl.go's service and node identity
 * templates. Every check runs through the Authorizer the resolver hands out (default policy folded in).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Authorizer } from './authorizer.ts';
import { nodeIdentityRules, serviceIdentityRules } from './identities.ts';
import { mergeRules, policyAuthorizer } from './policy-authorizer.ts';
import { parseRules, type PolicyRules } from './rules.ts';
import { translateLegacyRules } from './translate.ts';

type Question = Exclude<keyof Authorizer, 'accessorId'>;
type Check = readonly [Question, string, boolean];

interface Case {
  readonly name: string;
  /** Policies as HCL or JSON text, merged as a token holding all of them. */
  readonly policies?: readonly string[];
  /** Pre-decoded rules (identities) merged in as well. */
  readonly extra?: readonly PolicyRules[];
  readonly management?: boolean;
  readonly defaultPolicy?: 'allow' | 'deny';
  readonly checks: readonly Check[];
}

const CASES: readonly Case[] = [
  {
    name: 'key_prefix read',
    policies: ['key_prefix "foo/" { policy = "read" }'],
    checks: [['keyRead', 'foo/bar', true], ['keyWrite', 'foo/bar', false], ['keyList', 'foo/', false], ['keyRead', 'bar/foo', false]],
  },
  {
    name: 'exact key beats a prefix of the same name',
    policies: ['key_prefix "foo/" { policy = "read" }\nkey "foo/bar" { policy = "write" }'],
    checks: [['keyWrite', 'foo/bar', true], ['keyWrite', 'foo/baz', false], ['keyRead', 'foo/baz', true], ['keyWrite', 'foo/bar/x', false]],
  },
  {
    name: 'longest prefix wins',
    policies: ['key_prefix "foo/" { policy = "write" }\nkey_prefix "foo/bar/" { policy = "deny" }'],
    checks: [['keyWrite', 'foo/x', true], ['keyRead', 'foo/bar/x', false], ['keyWrite', 'foo/ba', true], ['keyRead', 'foo/bar/', false]],
  },
  {
    name: 'key list grants list and read, not write',
    policies: ['key_prefix "l/" { policy = "list" }'],
    checks: [['keyList', 'l/', true], ['keyRead', 'l/a', true], ['keyWrite', 'l/a', false]],
  },
  {
    name: 'key write on a prefix needs write under it all (KeyWritePrefix)',
    policies: ['key_prefix "" { policy = "write" }\nkey "a/secret" { policy = "read" }'],
    checks: [['keyWritePrefix', 'a/', false], ['keyWritePrefix', 'b/', true], ['keyWrite', 'a/other', true]],
  },
  {
    name: 'deny beats write for the same prefix across policies',
    policies: ['key_prefix "x/" { policy = "write" }', 'key_prefix "x/" { policy = "deny" }'],
    checks: [['keyRead', 'x/1', false], ['keyWrite', 'x/1', false]],
  },
  {
    name: 'write beats read for the same service across policies',
    policies: ['service "web" { policy = "read" }', 'service "web" { policy = "write" }'],
    checks: [['serviceWrite', 'web', true], ['serviceRead', 'web', true]],
  },
  {
    name: 'deny beats allow at equal length inside one policy (two blocks)',
    policies: ['node "n1" { policy = "write" }\nnode "n1" { policy = "deny" }'],
    checks: [['nodeRead', 'n1', false]],
  },
  {
    name: 'service exact write',
    policies: ['service "web" { policy = "write" }'],
    checks: [
      ['serviceWrite', 'web', true], ['serviceWrite', 'web2', false], ['serviceRead', 'web2', false],
      ['intentionRead', 'web', true], ['intentionWrite', 'web', false],
    ],
  },
  {
    name: 'service_prefix read with one service denied',
    policies: ['service_prefix "" { policy = "read" }\nservice "db" { policy = "deny" }'],
    checks: [['serviceRead', 'x', true], ['serviceRead', 'db', false], ['serviceReadAll', '', false], ['intentionRead', 'db', false]],
  },
  {
    name: 'service_prefix "" read reads all, writes none',
    policies: ['service_prefix "" { policy = "read" }'],
    checks: [['serviceReadAll', '', true], ['serviceWriteAny', '', false], ['intentionRead', 'any', true]],
  },
  {
    name: 'service intentions = write',
    policies: ['service "api" {\n  policy = "read"\n  intentions = "write"\n}'],
    checks: [['intentionWrite', 'api', true], ['serviceWrite', 'api', false], ['serviceWriteAny', '', false]],
  },
  {
    name: 'service write on one grants ServiceWriteAny',
    policies: ['service "api" { policy = "write" }'],
    checks: [['serviceWriteAny', '', true]],
  },
  {
    name: 'node exact write over node_prefix read',
    policies: ['node_prefix "" { policy = "read" }\nnode "n1" { policy = "write" }'],
    checks: [['nodeWrite', 'n1', true], ['nodeWrite', 'n2', false], ['nodeRead', 'n2', true], ['nodeReadAll', '', true]],
  },
  {
    name: 'node_prefix deny under a read-all',
    policies: ['node_prefix "" { policy = "read" }\nnode_prefix "secret-" { policy = "deny" }'],
    checks: [['nodeReadAll', '', false], ['nodeRead', 'secret-1', false], ['nodeRead', 'public-1', true]],
  },
  {
    name: 'session exact read under a write prefix',
    policies: ['session_prefix "" { policy = "write" }\nsession "n1" { policy = "read" }'],
    checks: [['sessionWrite', 'n1', false], ['sessionRead', 'n1', true], ['sessionWrite', 'n2', true]],
  },
  {
    name: 'agent exact write over agent_prefix read',
    policies: ['agent_prefix "" { policy = "read" }\nagent "a1" { policy = "write" }'],
    checks: [['agentWrite', 'a1', true], ['agentWrite', 'a2', false], ['agentRead', 'a2', true]],
  },
  {
    name: 'event_prefix write',
    policies: ['event_prefix "deploy-" { policy = "write" }'],
    checks: [['eventWrite', 'deploy-1', true], ['eventRead', 'deploy-1', true], ['eventRead', 'other', false]],
  },
  {
    name: 'query exact write over query_prefix read',
    policies: ['query_prefix "" { policy = "read" }\nquery "q1" { policy = "write" }'],
    checks: [['preparedQueryWrite', 'q1', true], ['preparedQueryWrite', 'q2', false], ['preparedQueryRead', 'q2', true]],
  },
  {
    name: 'operator read; mesh falls back to operator',
    policies: ['operator = "read"'],
    checks: [['operatorRead', '', true], ['operatorWrite', '', false], ['meshRead', '', true], ['meshWrite', '', false]],
  },
  {
    name: 'mesh rule overrides operator',
    policies: ['operator = "read"\nmesh = "write"'],
    checks: [['meshWrite', '', true], ['operatorWrite', '', false]],
  },
  {
    name: 'acl read; snapshot needs acl write',
    policies: ['acl = "read"'],
    checks: [['aclRead', '', true], ['aclWrite', '', false], ['snapshot', '', false]],
  },
  {
    name: 'acl write allows snapshots',
    policies: ['acl = "write"'],
    checks: [['aclWrite', '', true], ['snapshot', '', true]],
  },
  {
    name: 'keyring write',
    policies: ['keyring = "write"'],
    checks: [['keyringRead', '', true], ['keyringWrite', '', true], ['operatorRead', '', false]],
  },
  {
    name: 'default allow: no rule answers yes',
    policies: [''],
    defaultPolicy: 'allow',
    checks: [['keyWrite', 'any', true], ['serviceWrite', 'any', true], ['aclWrite', '', true], ['intentionDefaultAllow', '', true]],
  },
  {
    name: 'default allow: a deny rule still denies',
    policies: ['key_prefix "" { policy = "deny" }\nnode "x" { policy = "deny" }'],
    defaultPolicy: 'allow',
    checks: [['keyRead', 'a', false], ['nodeReadAll', '', false], ['nodeRead', 'y', true], ['serviceRead', 'web', true]],
  },
  {
    name: 'default deny: no rule answers no',
    policies: [''],
    checks: [['keyRead', 'a', false], ['nodeRead', 'n', false], ['operatorRead', '', false], ['intentionDefaultAllow', '', false]],
  },
  {
    name: 'service identity (builtin/service template)',
    extra: [serviceIdentityRules('web')],
    checks: [
      ['serviceWrite', 'web', true], ['serviceWrite', 'web-sidecar-proxy', true], ['serviceWrite', 'api', false],
      ['serviceRead', 'api', true], ['nodeRead', 'any', true], ['nodeWrite', 'any', false],
    ],
  },
  {
    name: 'node identity (builtin/node template)',
    extra: [nodeIdentityRules('n1')],
    checks: [['nodeWrite', 'n1', true], ['nodeWrite', 'n2', false], ['serviceRead', 'x', true], ['serviceWrite', 'x', false]],
  },
  {
    name: 'a policy merged with an identity',
    policies: ['key_prefix "web/" { policy = "write" }'],
    extra: [serviceIdentityRules('web')],
    checks: [['keyWrite', 'web/config', true], ['serviceWrite', 'web', true], ['keyRead', 'other', false]],
  },
  {
    name: 'JSON rules',
    policies: ['{ "key_prefix": { "foo/": { "policy": "write" } }, "service": { "web": { "policy": "read", "intentions": "write" } } }'],
    checks: [['keyWrite', 'foo/a', true], ['serviceRead', 'web', true], ['intentionWrite', 'web', true], ['keyRead', 'bar', false]],
  },
  {
    name: 'global management',
    management: true,
    checks: [['aclWrite', '', true], ['keyWritePrefix', '', true], ['serviceWrite', 'x', true], ['snapshot', '', true], ['intentionDefaultAllow', '', false]],
  },
];

for (const c of CASES) {
  for (const [question, arg, expected] of c.checks) {
    test(`rules: ${c.name} — ${question}(${JSON.stringify(arg)}) is ${expected ? 'allowed' : 'denied'}`, async () => {
      const parsed = await Promise.all((c.policies ?? []).map((p) => parseRules(p)));
      const authz = policyAuthorizer({
        accessorId: 'test',
        defaultPolicy: c.defaultPolicy ?? 'deny',
        rules: c.management ? 'management' : mergeRules([...parsed, ...(c.extra ?? [])]),
      });
      const ask = authz[question] as (name: string) => boolean;
      assert.equal(ask(arg), expected);
    });
  }
}

test('rules: the table has at least 60 checks', () => {
  assert.ok(CASES.reduce((n, c) => n + c.checks.length, 0) >= 60);
});

const INVALID: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['a key policy that is no access level', 'key "x" { policy = "reed" }', /key "x" policy: "reed"/],
  ['list on a service', 'service "web" { policy = "list" }', /service "web" policy: "list"/],
  ['list as intentions', 'service "web" {\n  policy = "read"\n  intentions = "list"\n}', /service "web" intentions policy: "list"/],
  ['acl = list', 'acl = "list"', /acl policy: "list"/],
  ['an unknown resource', 'kee_prefix "x" { policy = "read" }', /unknown rule "kee_prefix"/],
  ['a rule without policy', 'node "n" { }', /node "n" policy: ""/],
  ['an unknown field in a rule', 'node "n" {\n  policy = "read"\n  polcy = "write"\n}', /node "n": unknown field "polcy"/],
  ['HCL that does not parse', 'key_prefix "x" { policy = ', /Failed to parse ACL rules/],
  ['JSON that does not parse', '{ "key": ', /Failed to parse ACL rules/],
];

for (const [what, text, message] of INVALID) {
  test(`rules: refused — ${what}, with a 400 naming the rule`, async () => {
    await assert.rejects(parseRules(text), (err: Error & { statusCode?: number; code?: string }) => {
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, 'MG_ACL_INVALID_RULES');
      assert.match(err.message, message);
      return true;
    });
  });
}

test('rules: legacy rules translate to the prefix forms (TranslateLegacyRules)', async () => {
  const legacy = 'agent "" {\n  policy = "read"\n}\nkey "app/" {\n  policy = "write"\n}\nservice "" { policy = "read" }\noperator = "read"\n';
  const translated = await translateLegacyRules(legacy);
  assert.equal(translated, 'agent_prefix "" {\n  policy = "read"\n}\nkey_prefix "app/" {\n  policy = "write"\n}\nservice_prefix "" { policy = "read" }\noperator = "read"\n');
  const authz = policyAuthorizer({ accessorId: 't', defaultPolicy: 'deny', rules: await parseRules(translated) });
  assert.equal(authz.keyWrite('app/x'), true, 'a legacy key rule matched by prefix, and so does its translation');
});
