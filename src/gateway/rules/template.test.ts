import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshgateError } from '../../lib/errors.ts';
import { normalize, parseDefaultRuleTemplate, renderDefaultRule } from './index.ts';

test('normalize: runs of non-letters and non-numbers become one dash (provider.Normalize)', () => {
  assert.equal(normalize('my_service.v2'), 'my-service-v2');
  assert.equal(normalize('--web--'), 'web');
  assert.equal(normalize('Café Ünïcode 42'), 'Café-Ünïcode-42');
  assert.equal(normalize('a..b__c'), 'a-b-c');
  assert.equal(normalize('***'), '');
});

test("consulcatalog's default rule and other common templates", () => {
  const model = { Name: 'my_web.app', Labels: { 'traefik.domain': 'example.com', env: 'prod' }, Tags: ['a'] };
  assert.equal(renderDefaultRule('Host(`{{ normalize .Name }}`)', model), 'Host(`my-web-app`)');
  assert.equal(renderDefaultRule('Host(`{{ .Name | normalize }}.{{ index .Labels "traefik.domain" }}`)', model), 'Host(`my-web-app.example.com`)');
  assert.equal(renderDefaultRule('Host(`{{ .Name | normalize | upper }}`)', model), 'Host(`MY-WEB-APP`)');
  assert.equal(renderDefaultRule('Host(`{{ lower (normalize .Name) }}.{{ .Labels.env }}`)', model), 'Host(`my-web-app.prod`)');
  assert.equal(renderDefaultRule('{{ index .Labels "missing" | default "fallback" }}', model), 'fallback');
  assert.equal(renderDefaultRule('{{ .Labels.missing }}', model), '<no value>');
  assert.equal(renderDefaultRule('{{ trimPrefix "my_" .Name }}/{{ replace "." "-" .Name }}', model), 'web.app/my_web-app');
  assert.equal(renderDefaultRule('a  {{- .Name -}}  b {{/* note */}}', model), 'amy_web.appb ');
});

test('a template is parsed once and executed per service', () => {
  const tpl = parseDefaultRuleTemplate('Host(`{{ normalize .Name }}.svc`)');
  assert.equal(tpl.execute({ Name: 'a.b' }), 'Host(`a-b.svc`)');
  assert.equal(tpl.execute({ Name: 'c' }), 'Host(`c.svc`)');
});

test('template errors are coded and say what is wrong', () => {
  const expectError = (fn: () => unknown, message: RegExp) =>
    assert.throws(fn, (err: unknown) => isMeshgateError(err, 'MG_RULE_TEMPLATE') && message.test(err.message));
  expectError(() => parseDefaultRuleTemplate('{{ nope .Name }}'), /function "nope" not defined/);
  expectError(() => parseDefaultRuleTemplate('{{ .Name '), /unclosed action/);
  expectError(() => renderDefaultRule('{{ .Nam }}', { Name: 'x' }), /can't evaluate field Nam/);
  expectError(() => renderDefaultRule('{{ .Name | .Name }}', { Name: 'x' }), /can't give argument to non-function/);
  expectError(() => renderDefaultRule('{{ "a }}', {}), /unterminated quoted string/);
});
