/**
 * CheckRunner: runs an agent's checks and tells its owner only what changed — the job Consul splits between
 * agent/checks (the probes, TTL timers, StatusHandler), agent/local.State.UpdateCheck (change detection and
 * check_update_interval) and the agent's reaper (DeregisterCriticalServiceAfter). Both the server's own agent
 * and `meshgate agent` use it; the owner keeps the catalog and decides what a reap means.
 */
import { silentLogger, type Logger } from '../logger.ts';
import { setLongTimeout, type LongTimer } from '../long-timer.ts';
import { CheckErrors } from './errors.ts';
import { DEFAULT_OUTPUT_MAX_SIZE } from './output.ts';
import { probeKind, type Probe } from './probes/probe.ts';
import './probes/http.ts';
import './probes/tcp.ts';
import './probes/grpc.ts';
import './probes/script.ts';
import { StatusHandler } from './status-handler.ts';
import { isCheckStatus, type CheckDefinition, type CheckKind, type CheckState, type CheckStatus } from './types.ts';
import { checkKind, validateCheckDefinition } from './validate.ts';

/** Consul's checks.MinInterval. */
export const MIN_INTERVAL = 1_000;
/** Consul's default check_update_interval. */
export const DEFAULT_CHECK_UPDATE_INTERVAL = 5 * 60_000;
/** Consul's CheckDeregisterIntervalMin: DeregisterCriticalServiceAfter is raised to at least this. */
export const DEREGISTER_CRITICAL_SERVICE_AFTER_MIN = 60_000;
/** How often the reaper looks (Consul's is 30s; we want reaping within about a second of the deadline). */
export const DEFAULT_REAP_INTERVAL = 1_000;

export interface CheckRunnerOptions {
  /** A check's status changed, or its output changed and the check_update_interval deferral elapsed. */
  onUpdate: (checkId: string, status: CheckStatus, output: string) => void;
  /** A check with DeregisterCriticalServiceAfter has been critical longer than that: deregister `serviceId`. */
  onCriticalTooLong: (serviceId: string, checkId: string) => void;
  /** Every probe execution's raw result, before thresholds (metrics count check runs by status from it). */
  onRun?: (checkId: string, kind: CheckKind, status: CheckStatus) => void;
  logger?: Logger;
  /** ms; output-only changes are batched to about this often (Consul: interval/2 + random stagger). 0 = report all. */
  checkUpdateInterval?: number;
  /** Consul's enable_script_checks; off by default. */
  enableScriptChecks?: boolean;
  /** ms; intervals below are raised to it with a warning. Default Consul's 1s; tests lower it. */
  minInterval?: number;
  /** ms; DeregisterCriticalServiceAfter below is raised to it. Default Consul's 1m; tests lower it. */
  deregisterCriticalServiceAfterMin?: number;
  /** ms between reaper passes; default 1s. */
  reapInterval?: number;
  /** Agent-wide output cap in bytes (Consul's check_output_max_size); a check's OutputMaxSize may only lower it. */
  checkOutputMaxSize?: number;
}

interface Entry {
  readonly def: CheckDefinition;
  readonly kind: CheckKind;
  /** What the owner currently holds, output-only changes included once reported (Consul's local state). */
  state: CheckState;
  /** Last status and output given to onUpdate (or the initial state). */
  reported: CheckState;
  criticalSince: number | undefined;
  reaped: boolean;
  deregisterAfter: number;
  deferTimer: LongTimer | undefined;
  active: boolean;
  readonly abort: AbortController;
  // Interval checks.
  probe: Probe | undefined;
  handler: StatusHandler | undefined;
  interval: number;
  timer: LongTimer | undefined;
  inflight: Promise<void> | undefined;
  // TTL checks.
  ttlTimer: LongTimer | undefined;
  lastTTLOutput: string;
  outputMaxSize: number;
}

export class CheckRunner {
  readonly #opts: Required<Omit<CheckRunnerOptions, 'logger' | 'onRun'>> & Pick<CheckRunnerOptions, 'onRun'>;
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #closing = new Set<Promise<void>>();
  #reaper: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: CheckRunnerOptions) {
    this.#opts = {
      onUpdate: options.onUpdate,
      onCriticalTooLong: options.onCriticalTooLong,
      onRun: options.onRun,
      checkUpdateInterval: options.checkUpdateInterval ?? DEFAULT_CHECK_UPDATE_INTERVAL,
      enableScriptChecks: options.enableScriptChecks ?? false,
      minInterval: options.minInterval ?? MIN_INTERVAL,
      deregisterCriticalServiceAfterMin: options.deregisterCriticalServiceAfterMin ?? DEREGISTER_CRITICAL_SERVICE_AFTER_MIN,
      reapInterval: options.reapInterval ?? DEFAULT_REAP_INTERVAL,
      checkOutputMaxSize: options.checkOutputMaxSize ?? DEFAULT_OUTPUT_MAX_SIZE,
    };
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'checks' });
  }

  /**
   * Starts running `definition`, replacing a check with the same CheckID. A replaced check keeps its current
   * status and output (Consul snapshots them so re-registration does not flap); a new one starts at `Status`
   * (default critical) with empty output. Throws a 400 MeshgateError for an invalid or refused definition.
   */
  add(definition: CheckDefinition): void {
    if (this.#stopped) throw CheckErrors.stopped();
    validateCheckDefinition(definition);
    const def: CheckDefinition = structuredClone(definition);
    const kind = checkKind(def);
    if (kind === 'script' && !this.#opts.enableScriptChecks) throw CheckErrors.scriptChecksDisabled();

    const id = def.CheckID;
    const previous = this.#entries.get(id);
    if (previous) this.#retire(previous);

    const initial: CheckState = previous ? { ...previous.state } : { status: def.Status || 'critical', output: '' };
    const entry: Entry = {
      def,
      kind,
      state: initial,
      reported: previous ? { ...previous.reported } : { ...initial },
      criticalSince: previous?.criticalSince,
      reaped: previous?.reaped ?? false,
      deregisterAfter: 0,
      deferTimer: undefined,
      active: true,
      abort: new AbortController(),
      probe: undefined,
      handler: undefined,
      interval: 0,
      timer: undefined,
      inflight: undefined,
      ttlTimer: undefined,
      lastTTLOutput: '',
      outputMaxSize: def.OutputMaxSize && def.OutputMaxSize < this.#opts.checkOutputMaxSize ? def.OutputMaxSize : this.#opts.checkOutputMaxSize,
    };
    this.#entries.set(id, entry);

    if (kind === 'ttl') {
      this.#armTTL(entry);
    } else {
      let interval = def.Interval!;
      if (interval < this.#opts.minInterval) {
        this.#logger.warn({ check: id, minimum_interval: this.#opts.minInterval }, 'check has interval below minimum');
        interval = this.#opts.minInterval;
      }
      entry.interval = interval;
      const probeType = probeKind(kind);
      const timeout = def.Timeout && def.Timeout > 0 ? def.Timeout : probeType.defaultTimeout;
      entry.probe = probeType.factory(def, { timeout, outputMaxSize: entry.outputMaxSize, logger: this.#logger });
      entry.handler = new StatusHandler(def);
      // Consul staggers the first run randomly within one interval so checks added together do not fire together.
      this.#schedule(entry, Math.random() * interval);
    }

    const dcsa = def.DeregisterCriticalServiceAfter ?? 0;
    if (dcsa > 0) {
      if (dcsa < this.#opts.deregisterCriticalServiceAfterMin) {
        this.#logger.warn(
          { check: id, minimum_interval: this.#opts.deregisterCriticalServiceAfterMin },
          'check has deregister interval below minimum',
        );
      }
      entry.deregisterAfter = Math.max(dcsa, this.#opts.deregisterCriticalServiceAfterMin);
      this.#startReaper();
    }
  }

  /** Stops and forgets a check; unknown ids are ignored. A result still in flight is discarded. */
  remove(checkId: string): void {
    const entry = this.#entries.get(checkId);
    if (!entry) return;
    this.#entries.delete(checkId);
    this.#retire(entry);
  }

  /**
   * Sets a TTL check's status (Consul's /v1/agent/check/update) and restarts its TTL. Output beyond the output
   * cap is cut with Consul's note. Returns the output as stored. Throws 404 for an unknown or non-TTL check and
   * 400 for a status other than passing, warning or critical.
   */
  updateTTL(checkId: string, status: CheckStatus, output = ''): string {
    const entry = this.#entries.get(checkId);
    if (!entry || entry.kind !== 'ttl') throw CheckErrors.noTTL(checkId);
    if (!isCheckStatus(status)) throw CheckErrors.badStatus();
    const bytes = Buffer.from(output, 'utf8');
    if (bytes.length > entry.outputMaxSize) {
      output = `${bytes.subarray(0, entry.outputMaxSize).toString('utf8')} ... (captured ${entry.outputMaxSize} of ${bytes.length} bytes)`;
    }
    this.#logger.debug({ check: checkId, status }, 'Check status updated');
    this.#notify(entry, status, output);
    entry.lastTTLOutput = output;
    this.#armTTL(entry);
    return output;
  }

  /** The check's current status and output as the runner holds them, or undefined for an unknown id. */
  state(checkId: string): CheckState | undefined {
    const entry = this.#entries.get(checkId);
    return entry ? { ...entry.state } : undefined;
  }

  /** Stops every check and timer, aborts runs in flight and waits for them; the runner cannot be reused. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#reaper) clearInterval(this.#reaper);
    this.#reaper = undefined;
    for (const entry of this.#entries.values()) this.#retire(entry);
    this.#entries.clear();
    while (this.#closing.size > 0) await Promise.all([...this.#closing]);
  }

  #schedule(entry: Entry, delay: number): void {
    // A long timer: Interval may exceed Node's 2^31-1 ms timer range (Consul takes any time.Duration).
    // The owner's servers keep the process alive; a check timer alone must not.
    entry.timer = setLongTimeout(() => this.#runOnce(entry), delay).unref();
  }

  #runOnce(entry: Entry): void {
    entry.timer = undefined;
    if (!entry.active) return;
    const id = entry.def.CheckID;
    const run = entry.probe!.run(entry.abort.signal).then(
      (result) => result,
      (err: unknown) => {
        // A probe resolves failures as critical results; a rejection is a bug, so it is logged loudly.
        this.#logger.error({ check: id, err }, 'check probe failed unexpectedly');
        return { status: 'critical' as const, output: err instanceof Error ? err.message : String(err) };
      },
    );
    entry.inflight = run.then((result) => {
      entry.inflight = undefined;
      if (!entry.active) return;
      this.#opts.onRun?.(id, entry.kind, result.status);
      const reported = entry.handler!.next(result);
      if (reported) {
        this.#notify(entry, reported.status, reported.output);
      } else {
        this.#logger.debug({ check: id, status: result.status }, 'Check result has not reached its threshold');
      }
      this.#schedule(entry, entry.interval);
    });
  }

  #armTTL(entry: Entry): void {
    entry.ttlTimer?.clear();
    entry.ttlTimer = setLongTimeout(() => {
      entry.ttlTimer = undefined;
      if (!entry.active) return;
      this.#logger.warn({ check: entry.def.CheckID }, 'Check missed TTL, is now critical');
      const output = entry.lastTTLOutput ? `TTL expired (last output before timeout follows): ${entry.lastTTLOutput}` : 'TTL expired';
      this.#notify(entry, 'critical', output);
    }, entry.def.TTL!).unref();
  }

  /** Consul's local State.UpdateCheck: track critical time, report status changes now, defer output-only ones. */
  #notify(entry: Entry, status: CheckStatus, output: string): void {
    if (status === 'critical') {
      entry.criticalSince ??= Date.now();
    } else {
      entry.criticalSince = undefined;
      entry.reaped = false;
    }
    if (entry.state.status === status && entry.state.output === output) return;

    const interval = this.#opts.checkUpdateInterval;
    if (interval > 0 && entry.state.status === status) {
      entry.state.output = output;
      if (!entry.deferTimer) {
        entry.deferTimer = setLongTimeout(() => {
          entry.deferTimer = undefined;
          if (entry.active) this.#report(entry);
        }, interval / 2 + Math.random() * interval).unref();
      }
      return;
    }
    entry.state = { status, output };
    this.#report(entry);
  }

  #report(entry: Entry): void {
    const { status, output } = entry.state;
    if (entry.reported.status === status && entry.reported.output === output) return;
    entry.reported = { status, output };
    entry.deferTimer?.clear();
    entry.deferTimer = undefined;
    try {
      this.#opts.onUpdate(entry.def.CheckID, status, output);
    } catch (err) {
      this.#logger.error({ check: entry.def.CheckID, err }, 'check onUpdate callback threw');
    }
  }

  #startReaper(): void {
    if (this.#reaper) return;
    this.#reaper = setInterval(() => this.#reap(), this.#opts.reapInterval);
    this.#reaper.unref();
  }

  /** One pass of Consul's reapServicesInternal: each service at most once per pass, each check once per episode. */
  #reap(): void {
    const now = Date.now();
    const reaped = new Set<string>();
    for (const entry of this.#entries.values()) {
      const serviceId = entry.def.ServiceID;
      if (!serviceId || entry.deregisterAfter <= 0 || entry.criticalSince === undefined || entry.reaped) continue;
      if (now - entry.criticalSince <= entry.deregisterAfter) continue;
      entry.reaped = true;
      if (reaped.has(serviceId)) continue;
      reaped.add(serviceId);
      this.#logger.info({ service: serviceId, check: entry.def.CheckID }, 'Check for service has been critical for too long; deregistering service');
      try {
        this.#opts.onCriticalTooLong(serviceId, entry.def.CheckID);
      } catch (err) {
        this.#logger.error({ service: serviceId, check: entry.def.CheckID, err }, 'check onCriticalTooLong callback threw');
      }
    }
  }

  /** Stops an entry's timers and run, then closes its probe once the run has settled. */
  #retire(entry: Entry): void {
    entry.active = false;
    entry.abort.abort();
    for (const t of [entry.timer, entry.ttlTimer, entry.deferTimer]) t?.clear();
    entry.timer = entry.ttlTimer = entry.deferTimer = undefined;
    const probe = entry.probe;
    const closing = Promise.resolve(entry.inflight)
      .then(() => probe?.close())
      .catch((err: unknown) => this.#logger.warn({ check: entry.def.CheckID, err }, 'closing check probe failed'))
      .finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
  }
}
