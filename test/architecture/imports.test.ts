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
  const rules = config.forbidden.filter((r: { name: string }) => r.name.startsWith('gateway-'));
  assert.equal(rules.length, 1);
  assert.ok(new RegExp(rules[0].to.path).test('src/server/index.ts'));
  assert.ok(!new RegExp(rules[0].to.pathNot).test('src/server/index.ts'));
  assert.ok(new RegExp(rules[0].to.pathNot).test('src/api/client.ts'));
});
