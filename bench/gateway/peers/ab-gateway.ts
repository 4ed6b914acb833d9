/**
 * Same-run A/B of two checkouts of meshgate: starts `runGateway` from the source tree at `root` (any commit's
 * worktree, node_modules symlinked) on the benchmark's own 1-router configuration (configs.ts: router, rateLimit,
 * headers, Prometheus metrics and JSON access log), so commits can be measured side by side with
 * `--mode peers --extra peers/ab-a.ts,peers/ab-b.ts` (MESHGATE_AB_A / _B name the checkouts).
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { httpGatewayConfig } from '../configs.ts';

/** Runs the gateway of the checkout at `root` for `port upstream` (the --extra peer contract) until SIGTERM. */
export async function runAbPeer(root: string): Promise<void> {
  const [port, upstream] = [Number(process.argv[2]), process.argv[3]!];
  const dir = mkdtempSync(join(os.tmpdir(), 'meshgate-ab-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const config = httpGatewayConfig({ dir, address: `127.0.0.1:${port}`, routers: 1, upstream });
  writeFileSync(join(dir, 'static.yml'), config.staticYaml);
  writeFileSync(join(dir, 'dynamic.yml'), config.dynamicYaml);
  const main = await import(pathToFileURL(resolve(root, 'src/gateway/main.ts')).href) as typeof import('../../../src/gateway/main.ts');
  const logger = await import(pathToFileURL(resolve(root, 'src/lib/logger.ts')).href) as typeof import('../../../src/lib/logger.ts');
  await main.runGateway({ configFile: join(dir, 'static.yml'), workers: 1, lastGoodFile: false, handleSignals: true, logger: logger.silentLogger() });
  process.send?.({ ready: true, root });
}
