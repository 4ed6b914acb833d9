/**
 * The catalog's labels in the order Traefik decodes them: traefik/traefik pkg/config/parser/labels_decode.go
 * `DecodeToNode` sorts the label keys (`sortKeys`, Go's sort.Strings) before building the node tree, and paerser's
 * parser/element_fill.go `setSliceStruct` fills a list of sections from the node's children as they stand — so the
 * elements follow the keys' text order, and a name written twice is spelt as the first key in that order spells it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLabels, tagsToLabels } from './consulcatalog-labels.ts';

test('a list of sections follows the label keys in text order (domains[10] before domains[1]), whatever the tag order', () => {
  const tags = ['traefik.http.routers.web.rule=Host(`example.com`)'];
  for (let i = 0; i < 12; i++) tags.push(`traefik.http.routers.web.tls.domains[${i}].main=d${i}.example.com`);
  const labels = tagsToLabels(tags, 'traefik');
  const domains = (decodeLabels(labels).routers.web!.tls as { domains: Array<{ main: string }> }).domains;
  // "[10]" < "[1]" as text: '0' (0x30) sorts before ']' (0x5D).
  assert.deepEqual(domains.map((d) => d.main), [0, 10, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `d${i}.example.com`));
  // The same labels listed in reverse decode the same way.
  const reversed = tagsToLabels([...tags].reverse(), 'traefik');
  assert.deepEqual(decodeLabels(reversed), decodeLabels(labels));
});

test('of two spellings of one name, the first in key order names it, not the first tag', () => {
  const labels = tagsToLabels(['traefik.http.routers.web.service=svc', 'traefik.http.routers.WEB.rule=Path(`/`)'], 'traefik');
  // "WEB" sorts before "web" (0x57 < 0x77).
  assert.deepEqual(Object.keys(decodeLabels(labels).routers), ['WEB']);
  assert.deepEqual(decodeLabels(labels).routers.WEB, { service: 'svc', rule: 'Path(`/`)' });
});

test('a catalog element named __proto__ is refused naming its label (the instance is skipped), never dropped in silence; a map key so named is kept', () => {
  for (const tag of ['traefik.http.routers.__proto__.rule=Path(`/p`)', 'traefik.http.services.__proto__.loadbalancer.server.port=80', 'traefik.tcp.routers.__proto__.rule=HostSNI(`*`)']) {
    assert.throws(() => decodeLabels(tagsToLabels([tag], 'traefik')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MG_GATEWAY_LABEL');
      assert.match(err.message, /label "traefik\.(http|tcp)\.(routers|services)\.__proto__": .*"__proto__" is not supported from catalog tags/);
      return true;
    });
  }
  const decoded = decodeLabels(tagsToLabels(['traefik.http.middlewares.h.headers.customrequestheaders.__proto__=x'], 'traefik'));
  const headers = (decoded.middlewares.h as { headers: { customRequestHeaders: Record<string, string> } }).headers.customRequestHeaders;
  assert.deepEqual(Object.keys(headers), ['__proto__']);
  assert.equal(Object.getPrototypeOf(headers), Object.prototype);
});
