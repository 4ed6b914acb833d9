import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshgateError } from '../../lib/errors.ts';
import type { KVPair, ServiceEntry } from '../../api/types.ts';
import { parseTemplate } from './language.ts';
import { renderTemplate, type DataSource } from './render.ts';

const pair = (Key: string, value: string): KVPair => ({ Key, Value: Buffer.from(value).toString('base64'), Flags: 0, CreateIndex: 1, ModifyIndex: 1, LockIndex: 0 } as KVPair);

function data(values: Record<string, unknown>): DataSource {
  return { get: (id) => values[id] as never };
}

function render(text: string, values: Record<string, unknown>) {
  return renderTemplate(parseTemplate(text, 't'), data(values));
}

test('key and keyOrDefault: a missing key leaves the render incomplete, a default fills in', () => {
  const text = 'a={{ key "app/a" }} b={{ keyOrDefault "app/b" "dflt" }}';
  assert.equal(render(text, {}).complete, false, 'nothing fetched yet');
  const missing = render(text, { 'key:app/a': null, 'key:app/b': null });
  assert.equal(missing.complete, false, 'key waits for its key to exist (consul-template blocks)');
  const r = render(text, { 'key:app/a': pair('app/a', '1'), 'key:app/b': null });
  assert.equal(r.complete, true);
  assert.equal(r.text, 'a=1 b=dflt');
  assert.deepEqual([...r.dependencies.keys()], ['key:app/a', 'key:app/b']);
});

test('ls lists direct children, tree every key below, both relative to the prefix and without folders', () => {
  const pairs = [pair('cfg', 'root'), pair('cfg/a', '1'), pair('cfg/sub/', ''), pair('cfg/sub/b', '2')];
  const ls = render('{{ range ls "cfg" }}{{ .Key }}={{ .Value }};{{ end }}', { 'prefix:cfg': pairs });
  assert.equal(ls.text, 'a=1;');
  const tree = render('{{ range tree "/cfg/" }}{{ .Key }}={{ .Value }};{{ end }}', { 'prefix:cfg': pairs });
  assert.equal(tree.text, 'a=1;sub/b=2;');
});

test('service ranges over passing instances with the node address as fallback; else renders for none', () => {
  const entries = [
    { Node: { Node: 'n1', Address: '10.0.0.1' }, Service: { ID: 'web-1', Service: 'web', Address: '', Port: 80, Tags: ['a'], Meta: {} } },
    { Node: { Node: 'n2', Address: '10.0.0.2' }, Service: { ID: 'web-2', Service: 'web', Address: '10.1.1.1', Port: 81, Tags: null, Meta: null } },
  ] as unknown as ServiceEntry[];
  const text = '{{ range service "web" }}server {{ .Address }}:{{ .Port }} # {{ .Node }} {{ .Tags }}\n{{ else }}none{{ end }}';
  assert.equal(render(text, { 'service:web': entries }).text, 'server 10.0.0.1:80 # n1 [a]\nserver 10.1.1.1:81 # n2 []\n');
  assert.equal(render(text, { 'service:web': [] }).text, 'none');
});

test('if keyExists, comments and trim markers', () => {
  const text = 'x {{- /* gone */ -}} y\n{{ if keyExists "f" }}on{{ else }}off{{ end }}\n  {{- " z" }}';
  assert.equal(render(text, { 'key:f': pair('f', '') }).text, 'xy\non z');
  assert.equal(render(text, { 'key:f': null }).text, 'xy\noff z');
});

test('syntax errors are refused at load with the line: unknown function, arity, unclosed range, stray end', () => {
  const cases: Array<[string, RegExp]> = [
    ['{{ env "HOME" }}', /line 1: function "env" not defined/],
    ['\n{{ key "a" "b" }}', /line 2: wrong number of args for key: want 1 got 2/],
    ['{{ range ls "a" }}x', /line 1: {{range}} without {{end}}/],
    ['{{ end }}', /unexpected {{end}}/],
    ['{{ key "a" ', /unclosed action/],
    ['{{ key .A | upper }}', /unexpected "\|"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseTemplate(text, 'tpl'), (err: unknown) => isMeshgateError(err, 'MG_AGENT_TEMPLATE') && message.test(err.message), text);
  }
});
