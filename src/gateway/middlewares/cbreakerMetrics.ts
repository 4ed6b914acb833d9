/**
 * Rolling-window request statistics for the circuit breaker, as oxy's memmetrics.RTMetrics keeps them:
 * `buckets` one-`resolution` slots (10 × 1s) of total count, network errors (502, 504), counts per status code
 * and a latency histogram; slots older than the window are cleared as time moves on.
 */
import type { BreakerMetrics } from './cbreakerExpression.ts';

// Latency histogram: logarithmic bins, ~2% apart, from 0.01ms up to ~1h.
const LAT_MIN = 0.01;
const LAT_GROWTH = 1.02;
const LAT_BINS = Math.ceil(Math.log(3_600_000 / LAT_MIN) / Math.log(LAT_GROWTH)) + 1;
const LOG_GROWTH = Math.log(LAT_GROWTH);

function latencyBin(ms: number): number {
  if (ms <= LAT_MIN) return 0;
  return Math.min(LAT_BINS - 1, Math.ceil(Math.log(ms / LAT_MIN) / LOG_GROWTH));
}

interface Slot {
  total: number;
  netErrors: number;
  codes: Map<number, number>;
  latency: Map<number, number>;
}

export class RollingMetrics implements BreakerMetrics {
  private readonly slots: Slot[];
  private readonly resolution: number;
  private readonly now: () => number;
  private lastSlot = -1;

  constructor(options: { buckets?: number; resolutionMs?: number; now?: () => number } = {}) {
    this.slots = Array.from({ length: options.buckets ?? 10 }, () => ({ total: 0, netErrors: 0, codes: new Map(), latency: new Map() }));
    this.resolution = options.resolutionMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
  }

  private advance(): void {
    const slot = Math.floor(this.now() / this.resolution);
    if (this.lastSlot === -1) {
      this.lastSlot = slot;
      return;
    }
    const steps = Math.min(slot - this.lastSlot, this.slots.length);
    for (let s = 1; s <= steps; s++) {
      const target = this.slots[(this.lastSlot + s) % this.slots.length]!;
      target.total = 0;
      target.netErrors = 0;
      target.codes.clear();
      target.latency.clear();
    }
    if (slot > this.lastSlot) this.lastSlot = slot;
  }

  record(status: number, latencyMs: number): void {
    this.advance();
    const slot = this.slots[this.lastSlot % this.slots.length]!;
    slot.total++;
    if (status === 502 || status === 504) slot.netErrors++;
    slot.codes.set(status, (slot.codes.get(status) ?? 0) + 1);
    const bin = latencyBin(latencyMs);
    slot.latency.set(bin, (slot.latency.get(bin) ?? 0) + 1);
  }

  reset(): void {
    for (const slot of this.slots) {
      slot.total = 0;
      slot.netErrors = 0;
      slot.codes.clear();
      slot.latency.clear();
    }
  }

  totalCount(): number {
    this.advance();
    let n = 0;
    for (const s of this.slots) n += s.total;
    return n;
  }

  networkErrorRatio(): number {
    this.advance();
    let total = 0;
    let errors = 0;
    for (const s of this.slots) {
      total += s.total;
      errors += s.netErrors;
    }
    return total === 0 ? 0 : errors / total;
  }

  /** Share of codes in [from, to) among codes in [dividedByFrom, dividedByTo) (oxy's half-open ranges). */
  responseCodeRatio(from: number, to: number, dividedByFrom: number, dividedByTo: number): number {
    this.advance();
    let a = 0;
    let d = 0;
    for (const s of this.slots) {
      for (const [code, count] of s.codes) {
        if (code >= from && code < to) a += count;
        if (code >= dividedByFrom && code < dividedByTo) d += count;
      }
    }
    return d === 0 ? 0 : a / d;
  }

  /** Latency in ms at quantile `q` given in percent (50 = median). */
  latencyAtQuantileMS(q: number): number {
    this.advance();
    const merged = new Map<number, number>();
    let total = 0;
    for (const s of this.slots) {
      for (const [bin, count] of s.latency) {
        merged.set(bin, (merged.get(bin) ?? 0) + count);
        total += count;
      }
    }
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil((q / 100) * total));
    let seen = 0;
    for (const bin of [...merged.keys()].sort((x, y) => x - y)) {
      seen += merged.get(bin)!;
      if (seen >= rank) return bin === 0 ? 0 : LAT_MIN * LAT_GROWTH ** bin;
    }
    return 0;
  }
}
