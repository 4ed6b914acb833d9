/** Resolves with the first of the given signals to arrive; the handlers are removed afterwards. */
export function untilSignal(signals: readonly NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const sig of signals) {
      const handler = () => {
        for (const [s, h] of handlers) process.off(s, h);
        resolve(sig);
      };
      handlers.set(sig, handler);
      process.on(sig, handler);
    }
  });
}
