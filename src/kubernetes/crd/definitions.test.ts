/**
 * The CRD schemas are structural (Kubernetes' "Specifying a structural schema": every node has a type, every object
 * says what it holds), so a real API server accepts the definitions and prunes nothing a user wrote under a field
 * consul-k8s has.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crdDefinitions } from './definitions.ts';
import { CRD_KINDS } from './kinds.ts';
import type { JsonSchema } from './schemas.ts';

function problems(schema: JsonSchema, path: string): string[] {
  const out: string[] = [];
  if (!schema.type) out.push(`${path}: no type`);
  if (schema.type === 'object' && !schema.properties && !schema.additionalProperties && !schema['x-kubernetes-preserve-unknown-fields']) {
    out.push(`${path}: an object that names neither its properties nor its values`);
  }
  if (schema.type === 'array' && !schema.items) out.push(`${path}: an array without items`);
  for (const [k, v] of Object.entries(schema.properties ?? {})) out.push(...problems(v, `${path}.${k}`));
  if (schema.additionalProperties) out.push(...problems(schema.additionalProperties, `${path}[*]`));
  if (schema.items) out.push(...problems(schema.items, `${path}[]`));
  return out;
}

test('one structural CRD per kind the controller reconciles, with the status subresource it writes', () => {
  const definitions = crdDefinitions();
  assert.deepEqual(definitions.map((d) => d.metadata.name), CRD_KINDS.map((k) => `${k.plural}.consul.hashicorp.com`));
  for (const d of definitions) {
    const version = (d.spec['versions'] as Array<{ schema: { openAPIV3Schema: JsonSchema }; subresources: unknown }>)[0]!;
    // The root's `metadata` is the one object the API server itself defines (it may stay a bare `type: object`).
    assert.deepEqual(problems(version.schema.openAPIV3Schema, d.metadata.name).filter((p) => !p.startsWith(`${d.metadata.name}.metadata:`)), []);
    assert.deepEqual(version.subresources, { status: {} });
  }
  // The check can fail.
  assert.deepEqual(problems({ type: 'object', properties: { a: {} } }, 'x'), ['x.a: no type']);
});

test('the fields the documented examples use are in the schemas (a real API server would prune the rest)', () => {
  const spec = (kind: string) => CRD_KINDS.find((k) => k.kind === kind)!.spec;
  assert.ok(spec('ServiceIntentions').properties!['sources']!.items!.properties!['permissions']!.items!.properties!['http']!.properties!['pathPrefix']);
  assert.ok(spec('ServiceDefaults').properties!['mutualTLSMode']);
  assert.ok(spec('ServiceResolver').properties!['subsets']!.additionalProperties!.properties!['filter']);
  assert.ok(spec('ProxyDefaults').properties!['config']!['x-kubernetes-preserve-unknown-fields']);
  assert.equal(spec('ServiceSplitter').properties!['splits']!.items!.properties!['weight']!.type, 'number');
});
