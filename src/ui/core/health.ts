/** Health as Consul's UI shows it: a check's status, and an instance's as the worst of its checks. */
export type Health = 'passing' | 'warning' | 'critical' | 'maintenance' | 'unknown';

/** Consul's order of badness, for an instance's aggregate of its checks. */
export function worst(statuses: Iterable<string>): Health {
  let best: Health = 'passing';
  let any = false;
  for (const s of statuses) {
    any = true;
    if (s === 'critical') return 'critical';
    if (s === 'maintenance') best = 'maintenance';
    else if (s === 'warning' && best === 'passing') best = 'warning';
  }
  return any ? best : 'passing';
}
