/**
 * A gateway cluster worker: loads the same static configuration as the primary, opens the entry points (node:cluster
 * shares the listening sockets), applies each configuration the primary sends, answers `/metrics` with the
 * cluster-wide aggregation the primary computes, and drains on `meshgate:shutdown` or SIGTERM.
 */
import { createLogger } from '../../lib/logger.ts';
import { createGatewayLog } from './log.ts';
import { loadStaticConfig } from '../config/static.ts';
import { loadStaticPlugins } from './plugins.ts';
import { metricsFor, pushGaugesIntervalMs } from '../metrics/load.ts';
import type { RegistryJSON } from '../metrics/metrics.ts';
import { createGateway } from './gateway.ts';
import { tuneHeap } from './heap.ts';
import { ChallengeStore } from '../acme/challenges.ts';
import { loadTracer } from '../tracing/load.ts';
import { loadOtlpLogs } from '../otlp-logs/load.ts';
import { ConfigurationAssembler, WORKER_ENV, type PrimaryMessage, type WorkerMessage, type WorkerSettings } from './ipc.ts';

const settings = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerSettings;
/** How long an exiting worker waits for the primary's `meshgate:flushed` (flushHandoffs). */
const FLUSH_WITHIN_MS = 2000;
const send = (message: WorkerMessage) => process.send?.(message);

async function main(): Promise<void> {
  tuneHeap();
  const staticConfig = await loadStaticConfig(settings.configFile, settings.overrides);
  // Each worker exports its own log and access log records (log.otlp, accessLog.otlp), as it writes its own lines.
  const otlp = await loadOtlpLogs(staticConfig);
  // The same log as the primary's (Traefik's `log` section when present), each line naming its worker.
  const log = staticConfig.log ? createGatewayLog(staticConfig, {}, otlp?.log) : undefined;
  const logger = (log ? log.logger : createLogger({ name: 'gateway' })).child({ worker: process.pid });
  await loadStaticPlugins(staticConfig, logger);
  // Each worker pushes its own counts to the push backends (deltas add up there); Prometheus is aggregated by the primary.
  const metrics = await metricsFor(staticConfig, logger, { worker: true });
  const prometheus = staticConfig.metrics?.prometheus ? metrics : undefined;
  // The gateway-wide series (open connections, server up, certificates) are the primary's to push: it gets ours.
  const gaugesEvery = pushGaugesIntervalMs(staticConfig.metrics);
  if (metrics && gaugesEvery !== undefined) setInterval(() => send({ type: 'meshgate:push-gauges', gauges: metrics.pushGauges() }), gaugesEvery).unref();
  const pending = new Map<number, (reply: { contentType: string; text: string; error?: string }) => void>();
  let nextId = 1;
  // The primary orders certificates; workers only answer the CA's challenges, from the snapshots it sends.
  const challenges = staticConfig.certificatesResolvers !== undefined ? new ChallengeStore() : undefined;
  const httpEntryPoints = new Set(Object.values(staticConfig.certificatesResolvers ?? {}).flatMap(({ acme }) => (acme?.httpChallenge ? [acme.httpChallenge.entryPoint] : [])));
  const tracer = await loadTracer(staticConfig);
  const gateway = createGateway({
    staticConfig,
    logger,
    ...(tracer ? { tracer } : {}),
    ...(otlp?.accessLog ? { accessLogOtlp: otlp.accessLog } : {}),
    ...(challenges ? { acme: { challenges, httpEntryPoints } } : {}),
    providers: settings.providers,
    ...(settings.drainTimeoutMs !== undefined ? { drainTimeoutMs: settings.drainTimeoutMs } : {}),
    ...(metrics ? { metrics } : {}),
    ...(metrics && staticConfig.metrics?.prometheus
      ? {
          // The primary aggregates every worker's registry (counters summed), so /metrics is cluster-wide.
          metricsText: () => new Promise((resolve, reject) => {
            const id = nextId++;
            pending.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
            send({ type: 'meshgate:metrics', id });
          }),
        }
      : {}),
  });
  let stopping = false;
  /**
   * A worker rolled out (`retired`) hands its last counters to the primary before it exits, so the cluster's sums do
   * not fall (metrics/metrics.ts ClusterMetrics); the exit waits until the message is written.
   */
  const lastCounts = async (retired: boolean) => {
    if (!retired || !prometheus || !process.send) return;
    const last = await prometheus.metricsJSON();
    await new Promise<void>((resolve) => process.send!({ type: 'meshgate:last-metrics', metrics: last } satisfies WorkerMessage, undefined, {}, () => resolve()));
  };
  /**
   * node:cluster hands each connection the primary accepted to a worker over IPC and forgets it until the worker
   * answers: a worker that closed its listeners answers "not accepted" and the primary hands it to another, but one
   * that exits first strands it — the client's connection is open and nobody ever answers it (seen as a 30 s hang
   * during a roll). So before exiting, a worker asks the primary for an answer: IPC keeps order both ways, so by the
   * time `meshgate:flushed` arrives every connection handed over before the primary saw the listeners close has been
   * received here and sent back. A primary already gone cannot hand anything over; the wait is bounded for it.
   */
  const flushHandoffs = () => new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve();
    };
    const onMessage = (message: PrimaryMessage) => {
      if (message?.type === 'meshgate:flushed') done();
    };
    const timer = setTimeout(done, FLUSH_WITHIN_MS);
    process.on('message', onMessage);
    send({ type: 'meshgate:flush' });
  });
  const stop = (lingerIdleMs = 0, retired = false) => {
    if (stopping) return;
    stopping = true;
    gateway.close({ lingerIdleMs }).then(flushHandoffs).then(() => lastCounts(retired)).then(() => otlp?.shutdown()).then(() => metrics?.close()).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'worker stop failed');
        process.exit(1);
      },
    );
  };
  // Every worker writes the log and access log files itself, so every worker reopens them.
  const reopenLogs = () => {
    log?.reopen();
    gateway.reopenLogs();
  };
  let listening: Promise<unknown> | undefined;
  const assembler = new ConfigurationAssembler();
  process.on('message', (message: PrimaryMessage) => {
    if (message?.type === 'meshgate:config-begin' || message?.type === 'meshgate:config-part' || message?.type === 'meshgate:config-end') {
      const config = assembler.accept(message);
      if (config === undefined) return;
      const first = listening === undefined;
      const elements = assembler.lastElements;
      const configId = message.id;
      gateway.apply(config).then((served) => {
        if (served) send({ type: 'meshgate:applied', elements, rssMiB: process.memoryUsage.rss() / 2 ** 20, first, configId });
      }, () => {});
      // The first configuration arrives before the entry points open, so TLS ones start with certificates. listen()
      // waits until every configuration handed to apply() so far is built (runtime.settled()): a replacement that
      // builds a large configuration (workerRoll) takes no connection before it serves it, never answering from an
      // empty table. (A SPIFFE gateway waiting for its first SVID opens with the internal routers, as in-process.)
      listening ??= gateway.listen().then(
        () => send({ type: 'meshgate:ready', addresses: gateway.addresses() }),
        (err: Error) => {
          send({ type: 'meshgate:failed', message: err.message });
          process.exit(1);
        },
      );
    }
    else if (message?.type === 'meshgate:shutdown') stop();
    else if (message?.type === 'meshgate:drain') {
      logger.info('replaced by a new worker (workerRoll): draining');
      stop(message.lingerIdleMs, true);
    }
    else if (message?.type === 'meshgate:acme-challenges') challenges?.replace(message.challenges);
    else if (message?.type === 'meshgate:reopen-logs') reopenLogs();
    else if (message?.type === 'meshgate:config-rejected') metrics?.recordConfigReload(false);
    else if (message?.type === 'meshgate:metrics-collect') {
      // The primary sums every worker's registry for /metrics (ClusterMetrics).
      const reply = (metrics: RegistryJSON) => send({ type: 'meshgate:metrics-collected', id: message.id, metrics });
      if (prometheus) prometheus.metricsJSON().then(reply, (err: Error) => {
        logger.error({ err }, 'metrics could not be collected for the primary');
        reply([]);
      });
      else reply([]);
    }
    else if (message?.type === 'meshgate:metrics-reply') {
      pending.get(message.id)?.(message);
      pending.delete(message.id);
    }
  });
  // A signal to the whole process group (systemd, a terminal's Ctrl-C) reaches workers too: drain, do not die.
  process.on('SIGTERM', () => stop());
  process.on('SIGINT', () => stop());
  process.on('SIGHUP', () => {});
  // A SIGUSR1 to the whole group reaches workers too (and would otherwise open Node's inspector).
  process.on('SIGUSR1', reopenLogs);
  send({ type: 'meshgate:hello' });
}

main().catch((err: Error) => {
  send({ type: 'meshgate:failed', message: err.message });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
