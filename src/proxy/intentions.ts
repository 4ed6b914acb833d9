/**
 * The intentions that govern traffic into our service, followed with a blocking `/v1/connect/intentions/match`
 * (by destination) and decided locally with src/lib/intentions — the same function the server's
 * `/v1/agent/connect/authorize` uses — so no connection or request waits on the control plane (Envoy's RBAC filter
 * does the same with the intentions Consul pushes to it). Until the first answer arrives everything is denied: a
 * sidecar that has not heard the rules yet must not guess. The default for unmatched traffic follows the server's
 * `X-Consul-Default-ACL-Policy` (allow when the server does not say, as Consul with ACLs disabled).
 */
import type { ConsulClient } from '../api/client.ts';
import type { Logger } from '../lib/logger.ts';
import {
  authorizeConnection, authorizeRequest, DEFAULT_ALLOW, governingIntention, type Decision, type DefaultDecision, type HttpRequestFacts, type IntentionRule,
} from '../lib/intentions/index.ts';

const NOT_READY: Decision = { allowed: false, reason: 'intentions not loaded yet' };
/** The facts an L7 decision is asked with when the governing intention has no permissions to read them. */
const NO_FACTS: HttpRequestFacts = { method: '', path: '', headers: {} };

export class IntentionWatcher {
  private readonly client: ConsulClient;
  private readonly destination: string;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private rules: IntentionRule[] | undefined;
  /** Per source: the one governing intention as a list (or none), so a decision does not sort the whole set again. */
  private readonly governing = new Map<string, IntentionRule[]>();
  /**
   * Per source: the L7 decision when it does not depend on the request (no intention, or one without permissions —
   * the common case), else null. Built once per intentions update instead of re-deciding and re-formatting the
   * reason on every request.
   */
  private readonly requestIndependent = new Map<string, Decision | null>();
  private fallback: DefaultDecision = DEFAULT_ALLOW;

  constructor(client: ConsulClient, destination: string, logger: Logger) {
    this.client = client;
    this.destination = destination;
    this.logger = logger;
  }

  /** Starts the watch; resolves when the first answer is in. */
  start(): Promise<void> {
    let loaded!: () => void;
    const ready = new Promise<void>((r) => (loaded = r));
    this.client.watchEach(
      (q) => this.client.connect.intentionMatch('destination', [this.destination], q),
      (r) => {
        this.rules = (r.value[this.destination] ?? []) as IntentionRule[];
        this.governing.clear();
        this.requestIndependent.clear();
        const policy = r.meta.DefaultACLPolicy;
        this.fallback = policy === 'deny' ? { allow: false, reason: 'Default behavior configured by ACLs' } : DEFAULT_ALLOW;
        this.logger.debug({ intentions: this.rules.length }, 'intentions updated');
        loaded();
      },
      {
        signal: this.abort.signal,
        onError: (err, info) => this.logger.warn({ err, attempt: info.attempt }, 'watching intentions failed; keeping the last known set'),
      },
    ).done.catch((err: unknown) => this.logger.error({ err }, 'intentions watch stopped'));
    return ready;
  }

  stop(): void {
    this.abort.abort();
  }

  /** L4: may `source` open a connection to us? An L7 intention denies here (Consul's AgentConnectAuthorize). */
  connection(source: string): Decision {
    const rules = this.rulesFor(source);
    return rules ? authorizeConnection(rules, source, this.destination, this.fallback) : NOT_READY;
  }

  /** L7: may `source` send this request? */
  request(source: string, request: HttpRequestFacts): Decision {
    const rules = this.rulesFor(source);
    if (!rules) return NOT_READY;
    let fixed = this.requestIndependent.get(source);
    if (fixed === undefined) {
      fixed = (rules[0]?.Permissions ?? []).length === 0 ? authorizeRequest(rules, source, this.destination, NO_FACTS, this.fallback) : null;
      if (this.requestIndependent.size > 4096) this.requestIndependent.clear();
      this.requestIndependent.set(source, fixed);
    }
    return fixed ?? authorizeRequest(rules, source, this.destination, request, this.fallback);
  }

  /** The intention that governs `source` (found once per intentions update), as the list the deciders take. */
  private rulesFor(source: string): IntentionRule[] | undefined {
    if (!this.rules) return undefined;
    let rules = this.governing.get(source);
    if (!rules) {
      const r = governingIntention(this.rules, source, this.destination);
      rules = r ? [r] : [];
      if (this.governing.size > 4096) this.governing.clear();
      this.governing.set(source, rules);
    }
    return rules;
  }
}
