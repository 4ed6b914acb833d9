/** Traefik's constraints_tags_test.go table, plus precedence, raw strings and error messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshgateError } from '../../lib/errors.ts';
import { parseTagConstraints } from './consulcatalog-constraints.ts';
import { aggregatedStatus } from './consulcatalog.ts';
import { tagsToLabels } from './consulcatalog-labels.ts';

const hw = ['hello', 'world'];
const cases: Array<[string, string[], boolean | 'error']> = [
  ['Tag("world")', hw, true],
  ['Tag("worlds")', hw, false],
  ['!Tag("world")', hw, false],
  ['Tag("hello") && Tag("world")', hw, true],
  ['Tag("hello") && Tag("worlds")', hw, false],
  ['Tag("hello") && !Tag("world")', hw, false],
  ['Tag("hello") || Tag( "world")', hw, true],
  ['Tag( "worlds") || Tag("hello")', hw, true],
  ['Tag("hello") || !Tag("world")', hw, true],
  ['Tag()', hw, 'error'],
  ['Foo("hello")', hw, 'error'],
  ['Tag("hello")', [], false],
  ['', [], true],
  ['TagRegex("hel\\\\w+")', hw, true],
  ['TagRegex("hell\\\\w+s")', hw, false],
  ['!TagRegex("hel\\\\w+")', hw, false],
  // Beyond Traefik's table: raw strings, precedence (&& binds tighter than ||), parentheses, unanchored regexps.
  ['Tag(`a`) || Tag(`b`) && Tag(`c`)', ['a'], true],
  ['(Tag(`a`) || Tag(`b`)) && Tag(`c`)', ['a'], false],
  ['TagRegex(`orl`)', hw, true],
  ['TagRegex(`^orl`)', hw, false],
  ['TagRegex(`(`)', hw, false],
  ['Tag(`a`) &&', hw, 'error'],
  ['Tag(`a`) Tag(`b`)', hw, 'error'],
];

for (const [expr, tags, expected] of cases) {
  test(`constraints ${JSON.stringify(expr)} over ${JSON.stringify(tags)}`, () => {
    if (expected === 'error') {
      assert.throws(() => parseTagConstraints(expr), (err: unknown) => isMeshgateError(err, 'MG_GATEWAY_CONSTRAINT') && err.message.includes(expr));
      return;
    }
    assert.equal(parseTagConstraints(expr)(tags), expected);
  });
}

test('tags with the prefix become neutral traefik.* labels (tagsToNeutralLabels)', () => {
  assert.deepEqual(tagsToLabels(['traefik.enable=true', 'traefik.http.routers.r.rule=Host(`a=b`)', 'traefik.nolabel', 'other=1'], 'traefik'), {
    'traefik.enable': 'true',
    'traefik.http.routers.r.rule': 'Host(`a=b`)',
  });
  assert.deepEqual(tagsToLabels(['edge.http.routers.r.rule=Path(`/`)', 'edgex=1'], 'edge'), { 'traefik.http.routers.r.rule': 'Path(`/`)', 'traefik.edgex': '1' });
  assert.deepEqual(tagsToLabels(null, 'traefik'), {});
});

test("Consul's aggregated status: maintenance > critical > warning > passing; no checks is passing", () => {
  const c = (CheckID: string, Status: string) => ({ CheckID, Status }) as never;
  assert.equal(aggregatedStatus([]), 'passing');
  assert.equal(aggregatedStatus([c('a', 'passing'), c('b', 'warning')]), 'warning');
  assert.equal(aggregatedStatus([c('a', 'critical'), c('b', 'warning')]), 'critical');
  assert.equal(aggregatedStatus([c('a', 'critical'), c('_service_maintenance:web', 'critical')]), 'maintenance');
  assert.equal(aggregatedStatus([c('_node_maintenance', 'critical')]), 'maintenance');
});
