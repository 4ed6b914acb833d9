/**
 * When a certificate is renewed, as Traefik decides it without ARI (pkg/provider/acme renewal: getCertificateRenewDurations
 * applied to the certificate's own lifetime, NotAfter − NotBefore rounded to hours): the renew period before expiry
 * and the interval between checks. A 90-day certificate is renewed in its last 30 days, checked daily.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface RenewDurations {
  /** Renew once less than this is left before NotAfter. */
  readonly periodMs: number;
  /** Time between two checks. */
  readonly intervalMs: number;
}

export function renewDurations(lifetimeHours: number): RenewDurations {
  if (lifetimeHours >= 365 * 24) return { periodMs: 4 * 30 * DAY, intervalMs: 7 * DAY };
  if (lifetimeHours >= 3 * 30 * 24) return { periodMs: 30 * DAY, intervalMs: DAY };
  if (lifetimeHours >= 30 * 24) return { periodMs: 10 * DAY, intervalMs: 12 * HOUR };
  if (lifetimeHours >= 6 * 24) return { periodMs: 2 * DAY, intervalMs: 2 * HOUR };
  if (lifetimeHours >= 24) return { periodMs: 6 * HOUR, intervalMs: 10 * 60_000 };
  return { periodMs: 20 * 60_000, intervalMs: 60_000 };
}

/** Whether a certificate valid from `notBefore` to `notAfter` is due at `now`, and when to look again. */
export function renewalDue(notBefore: number, notAfter: number, now: number): { due: boolean; nextCheckMs: number } {
  const { periodMs, intervalMs } = renewDurations(Math.round((notAfter - notBefore) / HOUR));
  return { due: notAfter < now + periodMs, nextCheckMs: intervalMs };
}
