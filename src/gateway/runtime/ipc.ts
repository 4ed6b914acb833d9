/** Messages between the gateway's cluster primary and its workers (node:cluster IPC, JSON-serialisable). */
import type { DynamicConfig } from '../config/dynamic.ts';

/** Environment variable carrying a worker's settings (JSON). */
export const WORKER_ENV = 'MESHGATE_GATEWAY_WORKER';

export interface WorkerSettings {
  configFile?: string;
  overrides?: Record<string, unknown>;
  drainTimeoutMs?: number;
  providers: string[];
}

export type PrimaryMessage =
  | { type: 'meshgate:config'; config: DynamicConfig }
  | { type: 'meshgate:shutdown' }
  | { type: 'meshgate:config-rejected'; provider: string; message: string }
  | { type: 'meshgate:metrics-reply'; id: number; contentType: string; text: string; error?: string };

export type WorkerMessage =
  | { type: 'meshgate:hello' }
  | { type: 'meshgate:ready'; addresses: Record<string, { address: string; port: number }> }
  | { type: 'meshgate:failed'; message: string }
  | { type: 'meshgate:metrics'; id: number };
