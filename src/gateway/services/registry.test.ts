import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServiceHandler, getServiceKind, listServiceKinds, registerServiceKind } from './index.ts';
import type { ServiceConfig } from './schema.ts';

test('the four Traefik service kinds are registered, and a new kind plugs in with one registration', () => {
  assert.deepEqual(listServiceKinds().sort(), ['failover', 'loadBalancer', 'mirroring', 'weighted']);
  assert.throws(() => registerServiceKind('weighted', () => { throw new Error('unused'); }), /already registered/);
  const handler = async () => {};
  registerServiceKind<{ answer: number }>('testKind', (_name, config) => ({ handler, close() {}, status: () => ({ serverStatus: { [String(config.answer)]: 'UP' } }) }));
  assert.ok(getServiceKind('testKind'));
  const built = buildServiceHandler('t@file', { testKind: { answer: 42 } } as unknown as ServiceConfig, { resolveService: () => handler, transports: undefined as never, logger: undefined as never });
  assert.equal(built.handler, handler);
  assert.deepEqual(built.status().serverStatus, { 42: 'UP' });
});
