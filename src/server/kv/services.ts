/** What the KV endpoints need from the session subsystem (kept narrow so KV does not depend on session timers). */
import type { LockDelays } from './lock-delay.ts';

export interface KvServices {
  readonly lockDelays: LockDelays;
}
