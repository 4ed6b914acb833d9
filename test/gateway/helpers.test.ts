/**
 * The shared gateway helpers clean up after themselves: a gateway that startGateway cannot hand back (its
 * configuration lacks the `web` or `traefik` entry point it returns URLs for) is closed before the error, so it does
 * not keep its port and the test process alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../src/lib/logger.ts';
import { accepts } from '../helpers/server.ts';
import { startGateway, tempDir } from './helpers.ts';

test('startGateway without a web entry point: a clear error naming it, and the started gateway is closed', async () => {
  const dir = await tempDir('mg-gw-helpers-');
  await writeFile(join(dir, 'static.yml'), 'entryPoints:\n  traefik:\n    address: "127.0.0.1:0"\napi:\n  insecure: true\n');
  // The gateway logs its bound addresses when it has started: the only way to learn the port of one never handed back.
  const lines: string[] = [];
  const logger = createLogger({ name: 'gateway', level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  const error = await startGateway(join(dir, 'static.yml'), { logger }).then(() => undefined, (err: unknown) => err);
  const started = lines.map((line) => JSON.parse(line) as { msg: string; entryPoints?: Record<string, { port: number }> }).find((l) => l.msg === 'gateway started');
  const port = started?.entryPoints?.traefik?.port;
  assert.ok(port !== undefined, 'the gateway started and logged its traefik entry point');
  assert.equal(await accepts(port), false, 'the traefik entry point no longer accepts connections');
  assert.match(String(error), /no web entry point/);
});
