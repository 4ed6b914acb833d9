/** Enforces ARCHITECTURE.md's import table with dependency-cruiser over the real source tree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const config = require('../../.dependency-cruiser.cjs');

test('every import in src/ follows the part table of ARCHITECTURE.md', async () => {
  const result = await cruise(['src'], { ruleSet: { forbidden: config.forbidden }, ...config.options, validate: true });
  const output = result.output as { summary: { violations: Array<{ from: string; to: string; rule: { name: string; severity: string } }> ; totalCruised: number } };
  const errors = output.summary.violations.filter((v) => v.rule.severity === 'error');
  assert.ok(output.summary.totalCruised > 0, 'dependency-cruiser read no files');
  assert.deepEqual(errors.map((v) => `${v.from} -> ${v.to} (${v.rule.name})`), []);
});

test('the rule set catches a forbidden import', async () => {
  // A gateway file importing the server must be reported; proves the rules are live, not vacuous.
  const rules = config.forbidden.filter((r: { name: string }) => r.name.startsWith('gateway-imports-only'));
  assert.equal(rules.length, 1);
  assert.ok(new RegExp(rules[0].to.path).test('src/server/index.ts'));
  assert.ok(!new RegExp(rules[0].to.pathNot).test('src/server/index.ts'));
  assert.ok(new RegExp(rules[0].to.pathNot).test('src/api/client.ts'));
});

type Rule = { name: string; from: { path: string }; to: { path: string } };
const rule = (name: string): Rule => {
  const found = config.forbidden.find((r: Rule) => r.name === name);
  assert.ok(found, `rule ${name} exists`);
  return found;
};
/** Whether `rule` forbids an import of `to` by `from`, as dependency-cruiser reads the rule. */
const forbids = (r: Rule, from: string, to: string) => new RegExp(r.from.path).test(from) && new RegExp(r.to.path).test(to);

test('gateway layers: the configuration layer may not import the data plane, providers or the runtime', () => {
  const r = rule('gateway-config-imports-no-data-plane');
  assert.ok(forbids(r, 'src/gateway/config/dynamic.ts', 'src/gateway/middlewares/index.ts'));
  assert.ok(forbids(r, 'src/gateway/config/static.ts', 'src/gateway/services/transport.ts'));
  assert.ok(forbids(r, 'src/gateway/config/dynamic.ts', 'src/gateway/providers/file.ts'));
  assert.ok(forbids(r, 'src/gateway/config/schema/services.ts', 'src/gateway/runtime/build.ts'));
  assert.ok(!forbids(r, 'src/gateway/config/dynamic.ts', 'src/gateway/config/schema/middlewares.ts'));
  assert.ok(!forbids(r, 'src/gateway/config/dynamic.ts', 'src/lib/slices.ts'));
});

test('gateway layers: the data plane may not import configuration parsing, providers or the runtime', () => {
  const r = rule('gateway-data-plane-imports-no-control-plane');
  for (const from of ['src/gateway/middlewares/headers.ts', 'src/gateway/services/build.ts', 'src/gateway/rules/routes.ts', 'src/gateway/entrypoints/entrypoint.ts', 'src/gateway/http/response-writer.ts']) {
    assert.ok(forbids(r, from, 'src/gateway/config/dynamic.ts'), `${from} -> config/dynamic.ts`);
    assert.ok(forbids(r, from, 'src/gateway/providers/index.ts'), `${from} -> providers`);
    assert.ok(forbids(r, from, 'src/gateway/runtime/runtime.ts'), `${from} -> runtime`);
    assert.ok(!forbids(r, from, 'src/gateway/config/schema/services.ts'), `${from} may read schemas`);
  }
  assert.ok(!forbids(r, 'src/gateway/runtime/build.ts', 'src/gateway/config/dynamic.ts'), 'the runtime may');
});

test('test files are checked by the same rules', async () => {
  assert.equal(config.options.exclude, undefined, 'no exclusion of *.test.ts');
  const result = await cruise(['src/gateway/runtime'], { ruleSet: { forbidden: config.forbidden }, ...config.options, validate: true });
  const modules = (result.output as { modules: Array<{ source: string }> }).modules.map((m) => m.source);
  assert.ok(modules.includes('src/gateway/runtime/service-manager.test.ts'), 'a test file was cruised');
});
