/**
 * Following the proxy's own `connect-proxy` registration while it runs, as Consul's built-in proxy does through its
 * agent watch (connect/proxy Config watcher): a blocking `GET /v1/agent/service/:id?hash=` returns when the
 * definition's ContentHash changes, and the new settings go to `onChange`. An agent that does not block on the hash
 * answers at once; an unchanged early answer is then followed by a pause, so that is a gentle poll, not a busy loop.
 * A registration that went away or no longer parses keeps the last good settings (logged), as a broken edit must not
 * tear down a running sidecar.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsulClient } from '../api/client.ts';
import type { AgentService } from '../api/types.ts';
import type { Logger } from '../lib/logger.ts';
import { settingsFromRegistration, type ProxySettings } from './registration.ts';

export interface RegistrationWatchOptions {
  /** `?wait=` of each blocking request (default 5 minutes, Consul's). */
  readonly waitMs?: number;
  /** Least time between two requests that returned unchanged (default 1 s). */
  readonly minIntervalMs?: number;
}

/** A changed registration → new settings for `onChange`; one that no longer parses or applies keeps what runs. */
export async function applyRegistration(svc: AgentService, onChange: (settings: ProxySettings) => Promise<void>, logger: Logger): Promise<void> {
  try {
    await onChange(settingsFromRegistration(svc));
  } catch (err) {
    logger.error({ err }, 'applying the changed proxy registration failed; keeping what runs');
  }
}

/** After the `failures`-th failed watch request in a row: log, then wait (exponential, capped at 30 s) unless aborted. */
export async function backOffAfterFailure(failures: number, err: unknown, signal: AbortSignal, logger: Logger): Promise<void> {
  logger.warn({ err, attempt: failures }, 'watching the proxy registration failed; retrying');
  await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), undefined, { signal }).catch(() => {});
}

export function followRegistration(
  client: ConsulClient, proxyId: string, onChange: (settings: ProxySettings) => Promise<void>, logger: Logger, options: RegistrationWatchOptions = {},
): { stop(): void } {
  const abort = new AbortController();
  const { signal } = abort;
  const pause = options.minIntervalMs ?? 1000;
  void (async () => {
    let hash = '';
    let failures = 0;
    while (!signal.aborted) {
      const started = performance.now();
      try {
        const svc = await client.agent.serviceBlocking(proxyId, { hash, waitMs: options.waitMs ?? 300_000, signal });
        failures = 0;
        const next = svc?.ContentHash ?? '';
        if (!svc) logger.warn({ proxyId }, 'the proxy registration is gone from the agent; keeping the last settings');
        else if (next !== hash || next === '') {
          hash = next;
          await applyRegistration(svc, onChange, logger);
        }
      } catch (err) {
        if (signal.aborted) return;
        await backOffAfterFailure(++failures, err, signal, logger);
        continue;
      }
      const elapsed = performance.now() - started;
      if (elapsed < pause) await sleep(pause - elapsed, undefined, { signal }).catch(() => {});
    }
  })();
  return { stop: () => abort.abort() };
}
