/**
 * Messages between the gateway's cluster primary and its workers (node:cluster IPC, JSON-serialisable). A dynamic
 * configuration travels in parts of a few hundred elements (`sendConfiguration` / `ConfigurationAssembler`): a
 * worker parses each message in one step on the thread that serves requests, so one 50 MB message would stall
 * it for as long as the parse takes.
 */
import type { ChallengeSnapshot } from '../acme/challenges.ts';
import type { WorkerGauges } from '../metrics/cluster-push.ts';
import type { Slicer } from '../../lib/slices.ts';
import { emptyDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';
import { configurationElements } from './worker-roll.ts';
import type { RegistryJSON } from '../metrics/metrics.ts';

/** Environment variable carrying a worker's settings (JSON). */
export const WORKER_ENV = 'MESHGATE_GATEWAY_WORKER';

export interface WorkerSettings {
  configFile?: string;
  overrides?: Record<string, unknown>;
  drainTimeoutMs?: number;
  providers: string[];
}

type Section = 'routers' | 'services' | 'middlewares' | 'serversTransports';

export type ConfigurationMessage =
  | { type: 'meshgate:config-begin'; id: number; tls: DynamicConfig['tls']; tcp?: DynamicConfig['tcp']; udp?: DynamicConfig['udp'] }
  | { type: 'meshgate:config-part'; id: number; section: Section; entries: Array<[string, unknown]> }
  | { type: 'meshgate:config-end'; id: number };

export type PrimaryMessage =
  | ConfigurationMessage
  | { type: 'meshgate:shutdown' }
  /** Rolled out (a replacement serves): stop accepting, finish in flight, idle keep-alive connections linger a moment. */
  | { type: 'meshgate:drain'; lingerIdleMs: number }
  /** SIGUSR1 reached the primary: reopen the log and access log files (logrotate moved them). */
  | { type: 'meshgate:reopen-logs' }
  | { type: 'meshgate:config-rejected'; provider: string; message: string }
  | { type: 'meshgate:metrics-reply'; id: number; contentType: string; text: string; error?: string }
  /** Send this worker's Prometheus registry (for the cluster's /metrics, ClusterMetrics in the primary). */
  | { type: 'meshgate:metrics-collect'; id: number }
  /** Every pending ACME challenge answer (gateway/acme), sent whole on each change: workers serve them. */
  | { type: 'meshgate:acme-challenges'; challenges: ChallengeSnapshot }
  /** The answer to `meshgate:flush`: every connection the primary handed this worker before it was sent is in. */
  | { type: 'meshgate:flushed' };

export type WorkerMessage =
  | { type: 'meshgate:hello' }
  | { type: 'meshgate:ready'; addresses: Record<string, { address: string; port: number }> }
  | { type: 'meshgate:failed'; message: string }
  /**
   * A configuration serves (worker-roll.ts decides from it whether the worker is replaced); `configId` is the id of
   * its sequence, by which the primary counts each delivered configuration's reload once.
   */
  | { type: 'meshgate:applied'; elements: number; rssMiB: number; first: boolean; configId: number }
  /** The worker's gateway-wide metric values, every push interval, for the primary's push backends (cluster-push.ts). */
  | { type: 'meshgate:push-gauges'; gauges: WorkerGauges }
  | { type: 'meshgate:metrics'; id: number }
  | { type: 'meshgate:metrics-collected'; id: number; metrics: RegistryJSON }
  /** A rolled-out worker's last registry, as it exits: its counters stay in the cluster's sums. */
  | { type: 'meshgate:last-metrics'; metrics: RegistryJSON }
  /** Sent after the worker's listeners closed, before it exits; answered `meshgate:flushed` (worker.ts `flushHandoffs`). */
  | { type: 'meshgate:flush' };

const SECTIONS: readonly Section[] = ['routers', 'services', 'middlewares', 'serversTransports'];

/** Elements per part: small enough that parsing one part is well under a millisecond. */
export const PART_ELEMENTS = 500;

/** Sends `config` as a numbered sequence of parts through `send` (to one or more workers), in slices. */
export async function sendConfiguration(config: DynamicConfig, id: number, send: (message: ConfigurationMessage) => void, slicer: Slicer): Promise<void> {
  // TCP and UDP sections are small (a router per port or database): they travel whole with the first message.
  send({ type: 'meshgate:config-begin', id, tls: config.tls, ...(config.tcp ? { tcp: config.tcp } : {}), ...(config.udp ? { udp: config.udp } : {}) });
  for (const section of SECTIONS) {
    const elements = config.http[section] as Record<string, unknown>;
    let entries: Array<[string, unknown]> = [];
    // Collecting the names of a large section is one step: it starts a turn of its own.
    await slicer.fresh();
    for (const name in elements) {
      entries.push([name, elements[name]]);
      if (entries.length === PART_ELEMENTS) {
        send({ type: 'meshgate:config-part', id, section, entries });
        entries = [];
        const pending = slicer.tick();
        if (pending) await pending;
      }
    }
    if (entries.length > 0) send({ type: 'meshgate:config-part', id, section, entries });
  }
  send({ type: 'meshgate:config-end', id });
}

/** A worker's side: puts the parts back together; a newer sequence replaces one still arriving. */
export class ConfigurationAssembler {
  #id = -1;
  #config: DynamicConfig | undefined;
  #elements = 0;
  /**
   * Elements (worker-roll.ts configurationElements) of the configuration `accept` last returned, counted as its parts
   * arrived: counting them again afterwards would enumerate 50,000 names in one step of the serving thread.
   */
  lastElements = 0;

  /** Takes one message; returns the configuration when its last part arrived. */
  accept(message: ConfigurationMessage): DynamicConfig | undefined {
    if (message.type === 'meshgate:config-begin') {
      this.#id = message.id;
      this.#config = emptyDynamicConfig();
      this.#config.tls = message.tls;
      if (message.tcp !== undefined) this.#config.tcp = message.tcp;
      if (message.udp !== undefined) this.#config.udp = message.udp;
      // TCP and UDP sections and TLS travel whole and are small: counted at once.
      this.#elements = configurationElements({ ...emptyDynamicConfig(), tcp: message.tcp, udp: message.udp });
      return undefined;
    }
    if (message.id !== this.#id || this.#config === undefined) return undefined; // parts of a replaced sequence
    if (message.type === 'meshgate:config-part') {
      const target = this.#config.http[message.section] as Record<string, unknown>;
      for (const [name, value] of message.entries) target[name] = value;
      this.#elements += message.entries.length;
      return undefined;
    }
    const done = this.#config;
    this.#config = undefined;
    this.lastElements = this.#elements;
    return done;
  }
}
