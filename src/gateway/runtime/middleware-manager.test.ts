/**
 * The middleware manager: chains apply the first middleware outermost (Traefik's pkg/server/middleware
 * middlewares.go BuildChain: alice.New(...) in configuration order), each middleware is created once, references
 * resolve within the middleware's provider, and a missing middleware or a chain cycle is an error on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../lib/logger.ts';
import { emptyDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';
import type { GatewayRequest, Handler, ResponseWriter } from '../http/types.ts';
import { STATUS_ENABLED, type RuntimeInfo } from './info.ts';
import { MiddlewareManager } from './middleware-manager.ts';

function setup(middlewares: Record<string, Record<string, unknown>>) {
  const config: DynamicConfig['http'] = { ...emptyDynamicConfig().http, middlewares };
  const info: RuntimeInfo = { routers: new Map(), services: new Map(), middlewares: new Map() };
  for (const name of Object.keys(middlewares)) info.middlewares.set(name, { config: middlewares[name]!, status: STATUS_ENABLED, usedBy: [] });
  const manager = new MiddlewareManager(config, { logger: silentLogger(), middlewareState: new Map() }, info, () => {
    throw new Error('no services here');
  });
  return { info, manager };
}

/** Runs `handler` on a request for `url` and returns the URL the terminal saw. */
async function seenUrl(handler: (terminal: Handler) => Handler, url: string): Promise<string> {
  let seen = '';
  const terminal: Handler = async (req) => {
    seen = req.url;
  };
  await handler(terminal)({ url, method: 'GET', headers: {} } as unknown as GatewayRequest, {} as ResponseWriter);
  return seen;
}

test('the first middleware of a chain is the outermost, and each middleware is created once', async () => {
  const { manager } = setup({
    'strip@file': { stripPrefix: { prefixes: ['/api'] } },
    'add@file': { addPrefix: { prefix: '/v1' } },
  });
  // strip then add: /api/x → /x → /v1/x; the other order: /api/x → /v1/api/x (no /api prefix left to strip).
  assert.equal(await seenUrl((t) => manager.chain(['strip@file', 'add@file'], t), '/api/x'), '/v1/x');
  assert.equal(await seenUrl((t) => manager.chain(['add@file', 'strip@file'], t), '/api/x'), '/v1/api/x');
  assert.equal(manager.get('strip@file'), manager.get('strip@file'));
});

test('a chain resolves its members within its provider and records who uses them', async () => {
  const { info, manager } = setup({
    'both@file': { chain: { middlewares: ['strip', 'add'] } },
    'strip@file': { stripPrefix: { prefixes: ['/api'] } },
    'add@file': { addPrefix: { prefix: '/v1' } },
  });
  assert.equal(await seenUrl((t) => manager.chain(['both@file'], t), '/api/x'), '/v1/x');
  assert.deepEqual(info.middlewares.get('strip@file')!.usedBy, ['both@file']);
});

test('a missing middleware, an invalid one and a chain cycle are errors; the broken ones are disabled', () => {
  const { info, manager } = setup({
    'loop@file': { chain: { middlewares: ['loop'] } },
    'bad@file': { stripPrefix: { prefixes: 'not-a-list' } },
  });
  assert.throws(() => manager.get('nope@file'), /middleware "nope@file" does not exist/);
  assert.throws(() => manager.get('loop@file'), /part of a chain cycle/);
  assert.equal(info.middlewares.get('loop@file')!.status, 'disabled');
  assert.throws(() => manager.get('bad@file'), /bad@file\.stripPrefix\.prefixes/);
  assert.equal(info.middlewares.get('bad@file')!.status, 'disabled');
});
