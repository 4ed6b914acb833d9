/**
 * Named moments of long background work — a gateway reload's read, merge, build steps, swap and last good copy —
 * published on a diagnostics channel, so a probe loaded into the process (`bench/gateway/reload-probe.ts`) can tell
 * which step a long event-loop turn or a GC pause belongs to. Publishing costs one property read when nothing
 * subscribes, which is always the case outside a probe.
 */
import { channel } from 'node:diagnostics_channel';

export const RELOAD_PHASE_CHANNEL = 'meshgate:gateway:reload-phase';

const phases = channel(RELOAD_PHASE_CHANNEL);

/** Marks that a reload reached `phase` (e.g. `build:routes`), for whoever subscribes. */
export function markPhase(phase: string): void {
  if (phases.hasSubscribers) phases.publish(phase);
}
