/**
 * Sessions: creation with Consul's validation, TTL timers (a session lives TTL×2 after its last renewal, Consul's
 * SessionTTLMultiplier), and invalidation — by destroy, TTL expiry, a health check it depends on going critical or
 * disappearing, or its node being deregistered. Invalidating releases or deletes the session's locks (Behavior) and
 * puts released keys into lock-delay. Timers are in memory and restart in full after a server restart, as Consul's
 * do after a leader election. With several replicas (etcd store) every replica keeps the timers but only the
 * elected leader acts on them, and a new leader restarts them all in full. A renewal is a mark every replica can
 * read (`StateStore.touch`: an etcd key on a lease that outlives it, or memory on a lone store), so a renewal sent
 * to any replica counts: when the leader's timer fires it looks at the mark first and waits out what is left.
 */
import { randomUUID } from 'node:crypto';
import type { SessionEntry } from '../../api/types.ts';
import { defineError } from '../../lib/errors.ts';
import { formatDuration } from '../../lib/duration.ts';
import type { Logger } from '../../lib/logger.ts';
import { checkKey, SERF_CHECK_ID, Tables } from '../catalog/tables.ts';
import { KV_TABLE, SESSIONS_TABLE, kvDelete, type KvValue } from '../kv/entries.ts';
import { LockDelays } from '../kv/lock-delay.ts';
import type { StateStore } from '../store/state-store.ts';
import type { Change, StoredRow, WriteTxn } from '../store/types.ts';

export const SESSION_TTL_MIN_MS = 10_000;
export const SESSION_TTL_MAX_MS = 24 * 3_600_000;
export const SESSION_TTL_MULTIPLIER = 2;
export const DEFAULT_LOCK_DELAY_MS = 15_000;
export const MAX_LOCK_DELAY_MS = 60_000;

// Consul raises these from its RPC layer, so its HTTP API answers them with 500 and the bare message.
export const ErrInvalidTtl = defineError('MG_SESSION_INVALID_TTL', 500, (ttlMs: number) =>
  `Invalid Session TTL '${Math.round(ttlMs * 1e6)}', must be between [${formatDuration(SESSION_TTL_MIN_MS)}=${formatDuration(SESSION_TTL_MAX_MS)}]`);
export const ErrInvalidBehavior = defineError('MG_SESSION_INVALID_BEHAVIOR', 500, (b: string) => `Invalid Behavior setting '${b}'`);
export const ErrMissingNode = defineError('MG_SESSION_MISSING_NODE', 500, () => 'Missing node registration');
export const ErrMissingCheck = defineError('MG_SESSION_MISSING_CHECK', 500, (id: string) => `Missing check '${id}' registration`);
export const ErrCheckCritical = defineError('MG_SESSION_CHECK_CRITICAL', 500, (id: string) => `Check '${id}' is in critical state`);
export const ErrLockDelayTooLong = defineError('MG_SESSION_LOCK_DELAY', 400, () => `Lock delay must be at most ${formatDuration(MAX_LOCK_DELAY_MS)}`);
export const ErrSessionNotFound = defineError('MG_SESSION_NOT_FOUND', 404, (id: string) => `Session id '${id}' not found`);

/** What the store keeps per session (key = ID); indexes come from the row. */
export interface StoredSession {
  ID: string;
  Name: string;
  Node: string;
  LockDelayMs: number;
  Behavior: 'release' | 'delete';
  /** Go duration text as sent, e.g. "15s"; empty when the session has no TTL. */
  TTL: string;
  TtlMs: number;
  NodeChecks: string[];
  ServiceChecks: Array<{ ID: string; Namespace?: string }>;
}

export interface SessionRequest {
  Name?: string;
  Node?: string;
  LockDelayMs?: number;
  Behavior?: string;
  TtlMs?: number;
  TTL?: string;
  /** Deprecated `Checks` and `NodeChecks` both name node-level checks. */
  NodeChecks?: string[];
  ServiceChecks?: Array<{ ID: string; Namespace?: string }>;
}

interface CheckValue {
  Status?: string;
}

export function toSessionEntry(row: StoredRow<StoredSession>): SessionEntry {
  const s = row.value;
  return {
    ID: s.ID,
    Name: s.Name,
    Node: s.Node,
    LockDelay: Math.round(s.LockDelayMs * 1e6),
    Behavior: s.Behavior,
    TTL: s.TTL,
    NodeChecks: s.NodeChecks,
    ServiceChecks: s.ServiceChecks.length > 0 ? s.ServiceChecks : null,
    Checks: [...s.NodeChecks, ...s.ServiceChecks.map((c) => c.ID)],
    CreateIndex: row.createIndex,
    ModifyIndex: row.modifyIndex,
  } as SessionEntry;
}

export class SessionManager {
  readonly lockDelays = new LockDelays();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly store: StateStore;
  private readonly logger: Logger;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeLeadership: () => void;
  private stopped = false;

  constructor(store: StateStore, logger: Logger) {
    this.store = store;
    this.logger = logger;
    for (const row of store.list<StoredSession>(SESSIONS_TABLE)) this.armTimer(row.value);
    this.unsubscribe = store.onChange((change) => this.onCatalogChange(change));
    this.unsubscribeLeadership = store.onLeadership((leading) => {
      if (!leading) return;
      for (const row of store.list<StoredSession>(SESSIONS_TABLE)) this.armTimer(row.value);
    });
  }

  async create(request: SessionRequest, defaultNode: string): Promise<string> {
    const behavior = request.Behavior === undefined || request.Behavior === '' ? 'release' : request.Behavior;
    if (behavior !== 'release' && behavior !== 'delete') throw ErrInvalidBehavior(behavior);
    const ttlMs = request.TtlMs ?? 0;
    if (ttlMs !== 0 && (ttlMs < SESSION_TTL_MIN_MS || ttlMs > SESSION_TTL_MAX_MS)) throw ErrInvalidTtl(ttlMs);
    const lockDelayMs = request.LockDelayMs ?? DEFAULT_LOCK_DELAY_MS;
    if (lockDelayMs > MAX_LOCK_DELAY_MS) throw ErrLockDelayTooLong();
    const node = request.Node || defaultNode;
    const serviceChecks = request.ServiceChecks ?? [];
    // With no checks named at all, a session depends on the node's serfHealth, as Consul's default.
    const nodeChecks = request.NodeChecks ?? (serviceChecks.length === 0 ? [SERF_CHECK_ID] : []);
    const session: StoredSession = {
      ID: randomUUID(),
      Name: request.Name ?? '',
      Node: node,
      LockDelayMs: Math.max(0, lockDelayMs),
      Behavior: behavior,
      TTL: ttlMs ? (request.TTL ?? formatDuration(ttlMs)) : '',
      TtlMs: ttlMs,
      NodeChecks: nodeChecks,
      ServiceChecks: serviceChecks,
    };
    await this.store.write((tx) => {
      if (!tx.get(Tables.nodes, node)) throw ErrMissingNode();
      for (const id of [...nodeChecks, ...serviceChecks.map((c) => c.ID)]) {
        const check = tx.get<CheckValue>(Tables.checks, checkKey(node, id));
        if (!check) throw ErrMissingCheck(id);
        if (check.value.Status === 'critical') throw ErrCheckCritical(id);
      }
      tx.put(SESSIONS_TABLE, session.ID, session);
    });
    await this.markAlive(session);
    this.armTimer(session);
    return session.ID;
  }

  async renew(id: string): Promise<StoredRow<StoredSession>> {
    const row = this.store.get<StoredSession>(SESSIONS_TABLE, id);
    if (!row) throw ErrSessionNotFound(id);
    await this.markAlive(row.value);
    this.armTimer(row.value);
    return row;
  }

  /** Records, for every replica, that the session lives TTL×2 from now. */
  private async markAlive(session: StoredSession): Promise<void> {
    if (session.TtlMs) await this.store.touch(aliveMark(session.ID), Date.now() + session.TtlMs * SESSION_TTL_MULTIPLIER);
  }

  /** Destroys a session; unknown IDs are accepted, as Consul's destroy is idempotent. */
  async destroy(id: string): Promise<void> {
    await this.store.write((tx) => this.invalidateIn(tx, id));
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.unsubscribeLeadership();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Removes the session and handles its locks inside the caller's transaction (also used by /v1/txn later). */
  invalidateIn(tx: WriteTxn, id: string): void {
    const row = tx.get<StoredSession>(SESSIONS_TABLE, id);
    this.clearTimer(id);
    this.store.untouch(aliveMark(id));
    if (!row) return;
    const session = row.value;
    for (const entry of tx.list<KvValue>(KV_TABLE)) {
      if (entry.value.Session !== id) continue;
      if (session.Behavior === 'delete') {
        kvDelete(tx, entry.key); // leaves a tombstone, as any delete does
      } else {
        const { Session: _released, ...rest } = entry.value;
        tx.put(KV_TABLE, entry.key, rest);
        this.lockDelays.set(entry.key, session.LockDelayMs);
      }
    }
    tx.delete(SESSIONS_TABLE, id);
  }

  private armTimer(session: StoredSession, delayMs = session.TtlMs * SESSION_TTL_MULTIPLIER): void {
    this.clearTimer(session.ID);
    if (!session.TtlMs || this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(session.ID);
      if (!this.store.isLeader) return; // the leader expires it (and restarts every timer when it takes over)
      this.expireUnlessRenewed(session).catch((err) => this.logger.error({ err, session: session.ID }, 'session expiry failed'));
    }, delayMs);
    timer.unref();
    this.timers.set(session.ID, timer);
  }

  /** The timer ran out here; a renewal another replica received may have pushed the session's end further. */
  private async expireUnlessRenewed(session: StoredSession): Promise<void> {
    const left = (await this.store.touchedUntil(aliveMark(session.ID))) - Date.now();
    if (this.stopped || !this.store.get(SESSIONS_TABLE, session.ID)) return;
    if (left > 0) {
      if (!this.timers.has(session.ID)) this.armTimer(session, left);
      return;
    }
    this.logger.info({ session: session.ID, ttl: session.TTL }, 'session TTL expired');
    await this.destroy(session.ID);
  }

  private clearTimer(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  /** A check going critical or away, or a node going away, invalidates the sessions that depend on it. */
  private onCatalogChange(change: Change): void {
    const doomed = new Set<string>();
    for (const m of change.mutations) {
      if (m.table === SESSIONS_TABLE) {
        // Sessions created on another replica get their timers here; destroyed ones lose them.
        if (m.op === 'delete') this.clearTimer(m.key);
        else if (!this.timers.has(m.key)) this.armTimer(m.row.value as StoredSession);
      } else if (m.table === Tables.checks) {
        const critical = m.op === 'delete' || (m.row.value as CheckValue).Status === 'critical';
        if (!critical) continue;
        const slash = m.key.indexOf('/');
        const node = m.key.slice(0, slash);
        const checkId = m.key.slice(slash + 1);
        for (const s of this.store.list<StoredSession>(SESSIONS_TABLE)) {
          const v = s.value;
          if (v.Node === node && (v.NodeChecks.includes(checkId) || v.ServiceChecks.some((c) => c.ID === checkId))) doomed.add(v.ID);
        }
      } else if (m.table === Tables.nodes && m.op === 'delete') {
        for (const s of this.store.list<StoredSession>(SESSIONS_TABLE)) if (s.value.Node === m.key) doomed.add(s.value.ID);
      }
    }
    if (doomed.size === 0 || this.stopped) return;
    this.store
      .write((tx) => {
        for (const id of doomed) this.invalidateIn(tx, id);
      })
      .catch((err) => this.logger.error({ err, sessions: [...doomed] }, 'session invalidation failed'));
  }
}

/** The name of a session's liveness mark (`StateStore.touch`). */
const aliveMark = (id: string): string => `session/${id}`;
