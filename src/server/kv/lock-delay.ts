/**
 * Lock-delay: after a session holding a lock is invalidated, its keys cannot be re-acquired for the session's
 * LockDelay (Consul default 15 s), so a former holder that has not noticed yet cannot overlap a new one. Kept in
 * memory, as Consul keeps it on the leader; a restart forgets it, as a Consul leader change does.
 */
export class LockDelays {
  private readonly until = new Map<string, number>();

  set(key: string, delayMs: number, now = Date.now()): void {
    if (delayMs <= 0) return;
    const expires = now + delayMs;
    if ((this.until.get(key) ?? 0) < expires) this.until.set(key, expires);
  }

  isDelayed(key: string, now = Date.now()): boolean {
    const expires = this.until.get(key);
    if (expires === undefined) return false;
    if (expires <= now) {
      this.until.delete(key);
      return false;
    }
    return true;
  }
}
