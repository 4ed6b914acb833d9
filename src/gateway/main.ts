/**
 * `meshgate gateway` (src/cli/commands/gateway.ts picks the one static source): Traefik's role as one process tree.
 * The primary validates the static configuration (a bad file never starts), runs the providers and the last-good store, and either serves
 * in-process (`workers: 1`) or forks node:cluster workers that share the listening sockets and receive every new
 * configuration over IPC. SIGHUP re-reads the providers; SIGTERM/SIGINT drain gracefully; a crashed worker is
 * replaced and gets the current configuration at once.
 */
import cluster, { type Worker } from 'node:cluster';
import { gatewayNodeFlags, tuneHeap } from './runtime/heap.ts';
import { availableParallelism } from 'node:os';
import { createLogger, type Logger } from '../lib/logger.ts';
import { createGatewayLog } from './runtime/log.ts';
import type { DynamicConfig } from './config/dynamic.ts';
import { loadStaticConfig, PROVIDER_SETTINGS, type StaticConfig } from './config/static.ts';
import { loadStaticPlugins } from './runtime/plugins.ts';
import { createProviders, ProviderAggregator } from './providers/index.ts';
import { ClusterMetrics, type RegistryJSON } from './metrics/metrics.ts';
import { loadPushMetrics, metricsFor } from './metrics/load.ts';
import { ClusterPushGauges } from './metrics/cluster-push.ts';
import { LastGoodStore, lastGoodPathFor } from './runtime/last-good.ts';
import { overviewProviderName, createGateway, type Gateway } from './runtime/gateway.ts';
import { emptyDynamicConfig } from './config/dynamic.ts';
import { sendConfiguration, WORKER_ENV, type PrimaryMessage, type WorkerMessage, type WorkerSettings } from './runtime/ipc.ts';
import { Slicer } from '../lib/slices.ts';
import { configurationElements, WorkerRollPolicy, workerRollSettings } from './runtime/worker-roll.ts';
import { ROLL_LINGER_IDLE_MS, WorkerRoller } from './runtime/worker-roller.ts';
import type { AcmeManager } from './acme/manager.ts';
import { loadAcmeManager } from './acme/load.ts';
import type { TailscaleManager } from './tailscale/manager.ts';
import { loadTailscaleManager } from './tailscale/load.ts';
import { loadTracer } from './tracing/load.ts';
import { loadOtlpLogs, type OtlpLogs } from './otlp-logs/load.ts';

export interface RunGatewayOptions {
  /** Static configuration file (YAML or TOML). Without one, Traefik's defaults and `overrides` only. */
  configFile?: string;
  /** Worker processes; default one per core. `1` serves in this process (no IPC hop). */
  workers?: number;
  /** CLI flags in Traefik's dotted form: `{ 'entryPoints.web.address': ':8081', 'api.insecure': true }`. */
  overrides?: Record<string, string | number | boolean | string[]>;
  /** Where the last good dynamic configuration is kept. Default `<configFile>.last-good.json`; `false` disables. */
  lastGoodFile?: string | false;
  /** Install SIGHUP (reload) and SIGTERM/SIGINT (graceful stop) handlers. Default true. */
  /** Keep V8's old generation near its live size (runtime/heap.ts); default true. */
  tuneHeap?: boolean;
  handleSignals?: boolean;
  /** Longest a replaced configuration waits for its in-flight requests (default 30s). */
  drainTimeoutMs?: number;
  /** The ACME renewal scheduler's clock (tests move it instead of waiting). */
  acmeClock?: () => number;
  logger?: Logger;
}

export interface GatewayHandle {
  /** Graceful stop: stop providers, drain and close entry points (workers too), flush the last good file. */
  close(): Promise<void>;
  /** Re-read every provider now (what SIGHUP does). */
  reload(): void;
  /** Reopen the log and access log files in every process (what SIGUSR1 does). */
  reopenLogs(): void;
  /** Bound entry point addresses (after port 0 resolved); in cluster mode, as reported by the first worker. */
  addresses(): Record<string, { address: string; port: number }>;
  readonly staticConfig: StaticConfig;
  /** The ACME resolvers, when `certificatesResolvers` is configured. */
  readonly acme?: AcmeManager;
  /** The Tailscale resolvers, when a `certificatesResolvers.<name>.tailscale` is configured. */
  readonly tailscale?: TailscaleManager;
}

/** The gateway's own log: a given logger (tests, embedding), Traefik's `log` section when present, else Meshgate's default. */
function logFor(staticConfig: StaticConfig, given: Logger | undefined, otlp: OtlpLogs['log']): { logger: Logger; reopen(): void; flush(): void } {
  if (given) return { logger: given, reopen: () => {}, flush: () => {} };
  if (staticConfig.log) return createGatewayLog(staticConfig, {}, otlp);
  return { logger: createLogger({ name: 'gateway' }), reopen: () => {}, flush: () => {} };
}

/** The control plane shared by both modes: providers → aggregator → (persist, deliver). */
async function startControlPlane(
  staticConfig: StaticConfig,
  options: RunGatewayOptions,
  logger: Logger,
  deliver: (config: DynamicConfig) => void,
  rejected: (provider: string, error: Error) => void,
  acme?: AcmeManager,
  tailscale?: TailscaleManager,
) {
  const lastGoodPath = options.lastGoodFile === false ? undefined : (options.lastGoodFile ?? (staticConfig.file ? lastGoodPathFor(staticConfig.file) : undefined));
  const store = lastGoodPath ? new LastGoodStore(lastGoodPath, logger) : undefined;
  const aggregator = new ProviderAggregator({
    throttleMs: staticConfig.providers.providersThrottleDuration,
    maxRouters: staticConfig.providers.maxRouters,
    logger,
    onConfiguration: (merged, byProvider) => {
      deliver(merged);
      acme?.observe(merged);
      tailscale?.observe(merged);
      void store?.save(byProvider);
    },
    onRejected: (error) => rejected('aggregator', error),
  });
  // Cold start: the last good configuration serves before any provider reports (static stability).
  const seed = await store?.load();
  if (seed) {
    logger.info({ path: store!.path, providers: Object.keys(seed) }, 'serving the last good configuration until providers report');
    await aggregator.seed(seed);
  }
  const providers = [...createProviders({ staticConfig, logger, reportError: rejected }), ...(acme?.providers() ?? []), ...(tailscale?.providers() ?? [])];
  // Providers only read local sources before start() resolves (a remote one returns at once and reports later),
  // so this never waits on a server; what they have now is applied before the entry points open.
  await aggregator.start(providers);
  await aggregator.flush();
  return {
    aggregator,
    async stop() {
      aggregator.stop();
      await acme?.close();
      await tailscale?.close();
      await store?.save(aggregator.snapshot());
    },
  };
}

function providerNames(staticConfig: StaticConfig): string[] {
  const providers = staticConfig.providers as Record<string, unknown>;
  return Object.keys(providers).filter((k) => !PROVIDER_SETTINGS.has(k) && providers[k] !== undefined).map(overviewProviderName);
}

function installSignals(handle: GatewayHandle, logger: Logger, reopenLogs: () => void): () => void {
  const onHup = () => {
    logger.info('SIGHUP: reloading providers');
    handle.reload();
  };
  // Traefik reopens its log files on USR1, so logrotate can move them (postrotate: kill -USR1).
  const onUsr1 = () => {
    reopenLogs();
    handle.reopenLogs();
    logger.info('SIGUSR1: log files reopened');
  };
  const onTerm = (signal: string) => {
    logger.info({ signal }, 'stopping gracefully');
    handle.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'graceful stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGHUP', onHup);
  process.on('SIGUSR1', onUsr1);
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onTerm);
  return () => {
    process.off('SIGHUP', onHup);
    process.off('SIGUSR1', onUsr1);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
  };
}

export async function runGateway(options: RunGatewayOptions = {}): Promise<GatewayHandle> {
  if (options.tuneHeap !== false) tuneHeap();
  const staticConfig = await loadStaticConfig(options.configFile, options.overrides);
  const workers = options.workers ?? availableParallelism();
  // In cluster mode the workers serve requests and export their own access log records; the primary only logs.
  const otlp = await loadOtlpLogs(staticConfig, { accessLog: workers <= 1 });
  const log = logFor(staticConfig, options.logger, otlp?.log);
  const logger = log.logger;
  await loadStaticPlugins(staticConfig, logger);
  const handle = workers <= 1 ? await runInProcess(staticConfig, options, logger, otlp?.accessLog) : await runCluster(staticConfig, options, logger, workers);
  const finish = async () => {
    log.flush();
    await otlp?.shutdown();
  };
  if (options.handleSignals !== false) {
    const uninstall = installSignals(handle, logger, log.reopen);
    const close = handle.close;
    handle.close = () => {
      uninstall();
      return close().finally(finish);
    };
  } else {
    const close = handle.close;
    handle.close = () => close().finally(finish);
  }
  return handle;
}

/** The ACME resolvers and the entry points that answer their HTTP-01 challenges. */
function acmeFor(staticConfig: StaticConfig, options: RunGatewayOptions, logger: Logger): Promise<AcmeManager | undefined> {
  return loadAcmeManager(staticConfig, logger.child({ provider: 'acme' }), options.acmeClock ? { now: options.acmeClock } : {});
}

async function runInProcess(staticConfig: StaticConfig, options: RunGatewayOptions, logger: Logger, accessLogOtlp: OtlpLogs['accessLog']): Promise<GatewayHandle> {
  const metrics = await metricsFor(staticConfig, logger);
  const acme = await acmeFor(staticConfig, options, logger);
  const tailscale = await loadTailscaleManager(staticConfig, logger);
  const tracer = await loadTracer(staticConfig);
  const gateway: Gateway = createGateway({
    staticConfig,
    logger,
    ...(tracer ? { tracer } : {}),
    ...(accessLogOtlp ? { accessLogOtlp } : {}),
    ...(acme ? { acme: { challenges: acme.challenges, httpEntryPoints: acme.httpChallengeEntryPoints() } } : {}),
    providers: providerNames(staticConfig),
    ...(metrics ? { metrics } : {}),
    ...(metrics && staticConfig.metrics?.prometheus ? { metricsText: async () => ({ contentType: metrics.contentType, text: await metrics.metricsText() }) } : {}),
    ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
  });
  const control = await startControlPlane(staticConfig, options, logger, (config) => void gateway.apply(config), () => metrics?.recordConfigReload(false), acme, tailscale);
  try {
    await gateway.listen();
  } catch (err) {
    await control.stop();
    await gateway.close();
    throw err;
  }
  acme?.entryPointsReady();
  logger.info({ entryPoints: gateway.addresses() }, 'gateway started');
  let closing: Promise<void> | undefined;
  return {
    staticConfig,
    ...(acme ? { acme } : {}),
    ...(tailscale ? { tailscale } : {}),
    reload: () => control.aggregator.reload(),
    reopenLogs: () => gateway.reopenLogs(),
    addresses: () => gateway.addresses(),
    close() {
      closing ??= (async () => {
        await control.stop();
        await gateway.close();
        await metrics?.close();
      })();
      return closing;
    },
  };
}

function workerEntry(): string {
  // Type stripping runs the .ts sources; the build emits .js beside them.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./runtime/worker${ext}`, import.meta.url).pathname;
}

async function runCluster(staticConfig: StaticConfig, options: RunGatewayOptions, logger: Logger, count: number): Promise<GatewayHandle> {
  const settings: WorkerSettings = {
    ...(staticConfig.file ? { configFile: staticConfig.file } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
    providers: providerNames(staticConfig),
  };
  // V8 sizes the young generation when a process starts: the workers get the gateway's flags on their command line.
  cluster.setupPrimary({ exec: workerEntry(), args: [], silent: false, execArgv: [...process.execArgv, ...gatewayNodeFlags()] });
  const clusterMetrics = staticConfig.metrics?.prometheus ? new ClusterMetrics() : undefined;
  // The push backends' gateway-wide series, from the workers' values (cluster-push.ts); the workers push the rest.
  const pushSink = await loadPushMetrics(staticConfig.metrics, logger);
  const clusterPush = pushSink ? new ClusterPushGauges(pushSink) : undefined;
  const workers = new Set<Worker>();
  // Workers rolled out (draining until they exit) and replacements not yet serving: neither is re-forked on exit.
  const retiring = new Set<Worker>();
  const starting = new Set<Worker>();
  const serving = () => [...workers].filter((worker) => !retiring.has(worker));
  const rollPolicy = new WorkerRollPolicy(workerRollSettings(staticConfig));
  let latest: DynamicConfig | undefined;
  // Elements (configurationElements) of `latest`, and of the configuration the serving workers were last sent.
  let latestElements = 0;
  let servedElements = 0;
  // A configuration that grows a lot is being built in fresh workers (workerRoll.growthElements): the serving ones
  // get no configuration until the swap; these replacements get every one.
  let growth: { replacements: Set<Worker> } | undefined;
  // Workers that said hello (their message handler listens) and rolled-out ones whose last counters arrived.
  const greeted = new WeakSet<Worker>();
  const countedOut = new WeakSet<Worker>();
  let running = false;
  let addresses: Record<string, { address: string; port: number }> = {};
  let stopping = false;
  let firstReady: () => void;
  const ready = new Promise<void>((resolve) => (firstReady = resolve));
  let failedStart: (err: Error) => void;
  const startFailure = new Promise<never>((_, reject) => (failedStart = reject));

  const send = (worker: Worker, message: PrimaryMessage) => {
    if (worker.isConnected()) worker.send(message);
  };
  let nextConfigId = 1;
  // Config reload counting for the push backends: each configuration the providers delivered is one reload of the
  // gateway, counted when the first worker serves it (not once per worker, nor again for a new worker's first one).
  let delivered = 0;
  let counted = 0;
  const deliveryOf = new Map<number, number>();
  const sendConfig = (to: Iterable<Worker>, config: DynamicConfig, delivery: number) => {
    const targets = [...to];
    const id = nextConfigId++;
    if (delivery > counted) deliveryOf.set(id, delivery);
    void sendConfiguration(config, id, (message) => {
      for (const worker of targets) send(worker, message);
    }, new Slicer());
  };
  const countReload = (configId: number) => {
    const delivery = deliveryOf.get(configId);
    if (delivery === undefined || delivery <= counted) return;
    counted = delivery;
    for (const [id, d] of deliveryOf) if (d <= counted) deliveryOf.delete(id);
    clusterPush?.configReload(Date.now());
  };
  const acme = await acmeFor(staticConfig, options, logger);
  const tailscale = await loadTailscaleManager(staticConfig, logger);
  // Workers answer the CA's challenges: each change reaches them whole.
  acme?.challenges.onChange(() => {
    const challenges = acme.challenges.snapshot();
    for (const worker of serving()) send(worker, { type: 'meshgate:acme-challenges', challenges });
  });
  // Providers first, so the first worker starts with the current configuration (and its TLS certificates).
  const control = await startControlPlane(staticConfig, options, logger, (config) => {
    latest = config;
    const delivery = ++delivered;
    latestElements = configurationElements(config);
    if (growth) {
      // The replacements build the latest (queued behind the one they build); the old workers keep theirs until the swap.
      sendConfig([...growth.replacements].filter((worker) => greeted.has(worker)), config, delivery);
      return;
    }
    if (running && !stopping && rollPolicy.grows(servedElements, latestElements)) {
      growInFreshWorkers(servedElements, latestElements);
      return;
    }
    servedElements = latestElements;
    sendConfig(serving(), config, delivery);
  }, (provider, error) => {
    // Every worker counts it; the cluster view takes the max of the reload series, so it counts once.
    for (const worker of serving()) send(worker, { type: 'meshgate:config-rejected', provider, message: error.message });
  }, acme, tailscale);

  const fork = (): Worker => {
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(settings) });
    workers.add(worker);
    worker.on('message', (message: WorkerMessage) => {
      if (message?.type === 'meshgate:flush') send(worker, { type: 'meshgate:flushed' });
      else if (message?.type === 'meshgate:hello') {
        greeted.add(worker);
        if (acme) send(worker, { type: 'meshgate:acme-challenges', challenges: acme.challenges.snapshot() });
        sendConfig([worker], latest ?? emptyDynamicConfig(), latest ? delivered : 0);
      } else if (message?.type === 'meshgate:ready') {
        addresses = message.addresses;
        firstReady();
      } else if (message?.type === 'meshgate:failed') {
        failedStart(new Error(message.message));
      } else if (message?.type === 'meshgate:applied') {
        countReload(message.configId);
        const decision = rollPolicy.applied(worker.id, message);
        // While a growth roll is under way every serving worker is about to be replaced anyway.
        if (decision && !stopping && !growth) roller.queue(worker, decision);
      } else if (message?.type === 'meshgate:push-gauges') {
        clusterPush?.update(worker.id, message.gauges);
      } else if (message?.type === 'meshgate:metrics' && clusterMetrics) {
        // A worker whose last counters arrived meanwhile is counted by those alone.
        collectMetrics().then((live) => clusterMetrics.metricsText(live.filter(([from]) => !countedOut.has(from)).map(([, metrics]) => metrics))).then(
          (text) => send(worker, { type: 'meshgate:metrics-reply', id: message.id, contentType: clusterMetrics.contentType, text }),
          (err: Error) => send(worker, { type: 'meshgate:metrics-reply', id: message.id, contentType: 'text/plain', text: '', error: err.message }),
        );
      } else if (message?.type === 'meshgate:metrics-collected') {
        collecting.get(message.id)?.get(worker)?.(message.metrics);
      } else if (message?.type === 'meshgate:last-metrics' && clusterMetrics) {
        // Counted once: from now on this worker is left out of the live collection.
        countedOut.add(worker);
        clusterMetrics.retire(message.metrics);
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      clusterPush?.forget(worker.id);
      rollPolicy.forget(worker.id);
      if (retiring.delete(worker) || starting.delete(worker)) return;
      if (!stopping) {
        logger.error({ pid: worker.process.pid, code, signal }, 'gateway worker exited; starting a new one');
        setTimeout(fork, 250).unref();
      }
    });
    return worker;
  };
  const roller = new WorkerRoller({
    logger,
    fork: () => {
      const worker = fork();
      starting.add(worker);
      return worker;
    },
    started: (worker) => starting.delete(worker),
    retire: (worker) => {
      retiring.add(worker);
      send(worker, { type: 'meshgate:drain', lingerIdleMs: ROLL_LINGER_IDLE_MS });
    },
    stopping: () => stopping,
    exitWithinMs: (options.drainTimeoutMs ?? 30_000) + 5_000,
  });
  /**
   * Builds a configuration that grows by `workerRoll.growthElements` or more in `count` fresh workers, then retires
   * every old one at once (worker-roller.ts replaceAll); until that swap the old workers serve the old configuration.
   * If a replacement does not start, the old workers are sent the latest configuration and build it themselves.
   */
  const growInFreshWorkers = (served: number, elements: number) => {
    const replacements = new Set<Worker>();
    growth = { replacements };
    void roller.replaceAll(count, {
      served, elements,
      forked: (worker) => replacements.add(worker),
      old: () => serving().filter((worker) => !replacements.has(worker)),
    }).then((swapped) => {
      growth = undefined;
      servedElements = latestElements;
      if (!swapped && !stopping) sendConfig(serving(), latest ?? emptyDynamicConfig(), latest ? delivered : 0);
    });
  };
  /** Each live worker's Prometheus registry, for the cluster's /metrics (a worker that does not answer in 5 s fails the scrape). */
  const collecting = new Map<number, Map<Worker, (metrics: RegistryJSON) => void>>();
  let nextCollection = 1;
  const collectMetrics = (): Promise<Array<[Worker, RegistryJSON]>> => {
    const id = nextCollection++;
    const asked = [...workers].filter((worker) => worker.isConnected() && greeted.has(worker) && !countedOut.has(worker));
    const answers = new Map<Worker, (metrics: RegistryJSON) => void>();
    collecting.set(id, answers);
    const replies = asked.map((worker) => new Promise<[Worker, RegistryJSON]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${worker.process.pid} sent no metrics within 5 s`)), 5000);
      // A worker that exits before answering (a roll's drain) has sent its last counters instead: nothing to add.
      const onExit = () => answer([]);
      const answer = (metrics: RegistryJSON) => {
        clearTimeout(timer);
        worker.off('exit', onExit);
        resolve([worker, metrics]);
      };
      worker.once('exit', onExit);
      answers.set(worker, answer);
      send(worker, { type: 'meshgate:metrics-collect', id });
    }));
    return Promise.all(replies).finally(() => collecting.delete(id));
  };
  for (let i = 0; i < count; i++) fork();
  try {
    await Promise.race([ready, startFailure]);
  } catch (err) {
    stopping = true;
    await control.stop();
    for (const worker of workers) worker.kill();
    await clusterPush?.close();
    throw err;
  }
  running = true;
  acme?.entryPointsReady();
  logger.info({ workers: count, entryPoints: addresses }, 'gateway started');
  let closing: Promise<void> | undefined;
  return {
    staticConfig,
    ...(acme ? { acme } : {}),
    ...(tailscale ? { tailscale } : {}),
    reload: () => control.aggregator.reload(),
    reopenLogs: () => {
      for (const worker of workers) send(worker, { type: 'meshgate:reopen-logs' });
    },
    addresses: () => addresses,
    close() {
      closing ??= (async () => {
        stopping = true;
        await control.stop();
        await Promise.all([...workers].map((worker) => new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          send(worker, { type: 'meshgate:shutdown' });
          // A worker that does not finish draining in time is stopped anyway.
          setTimeout(() => worker.kill('SIGKILL'), (options.drainTimeoutMs ?? 30_000) + 5_000).unref();
        })));
        // After the workers: their connections are closed, and the last values pushed say so.
        await clusterPush?.close();
      })();
      return closing;
    },
  };
}
