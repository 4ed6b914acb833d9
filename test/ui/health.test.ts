/** An instance's health is the worst of its checks, in Consul's order (critical > maintenance > warning > passing). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { worst } from '../../src/ui/core/health.ts';

test('worst of the checks, passing when there are none', () => {
  assert.equal(worst([]), 'passing');
  assert.equal(worst(['passing', 'passing']), 'passing');
  assert.equal(worst(['passing', 'warning']), 'warning');
  assert.equal(worst(['warning', 'maintenance', 'passing']), 'maintenance');
  assert.equal(worst(['maintenance', 'critical', 'warning']), 'critical');
});
