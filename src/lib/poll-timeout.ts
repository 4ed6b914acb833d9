/**
 * A timeout that a held-up event loop cannot fake. When the loop was held up past the timeout (a GC pause, a long
 * synchronous turn such as a large configuration build, a process starved of CPU on a loaded host), Node runs the
 * expired timers of the next turn before it polls the I/O that completed meanwhile, so a plain timer calls an
 * operation that finished long ago pending and cuts it: a connect, a response head, a health probe's answer. Here the
 * timer's verdict is checked once more from setImmediate, which runs after that turn's poll: only an operation still
 * pending then — `clear()` not called by its completion — has timed out. undici guards its own connect timeout the
 * same way (lib/core/util.js setupConnectTimeout: the timer's callback only schedules a setImmediate). The proxy's
 * connect timeout (src/proxy/connect-timeout.ts) and the gateway's upstream dial and response-head timeouts and its
 * health-check timeouts use it.
 */

export interface PollTimeout {
  /** The operation completed (or failed otherwise): the timeout will not fire, even if its timer already ran. */
  clear(): void;
}

/** Calls `onTimeout` once `ms` have passed and the I/O that arrived meanwhile has been read without clearing it. */
export function timeoutAfterPoll(ms: number, onTimeout: () => void): PollTimeout {
  let cleared = false;
  const timer = setTimeout(() => setImmediate(() => {
    if (!cleared) onTimeout();
  }), ms);
  // A timeout is no reason for the process to stay up: the operation it watches keeps it up if it must.
  timer.unref();
  return {
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}

/**
 * A dial deadline (TCP connect, and with TLS the handshake) that counts only time the event loop ran. A dial over TLS
 * needs more than the one poll timeoutAfterPoll waits for: the ClientHello may only leave once the connect has been
 * seen, and the server's flight comes back a round trip later. So when the timer fires late — the loop was held up
 * past the deadline — the lateness is credited back as a new window (at most `ms` in all, so a dial ends by about
 * twice its timeout whatever the loop does), and only a timer that fires on time, checked once more after that turn's
 * poll, is a verdict. The proxy's mTLS dial (src/proxy/dialer.ts) and the gateway's upstream dials use it.
 */
export function dialDeadline(ms: number, onTimeout: () => void): PollTimeout {
  let credit = ms;
  let done = false;
  let deadline = performance.now() + ms;
  const fire = (): void => {
    if (done) return;
    const now = performance.now();
    const late = Math.min(now - deadline, credit);
    if (late >= 1) {
      credit -= late;
      deadline = now + late;
      timer = setTimeout(fire, late);
      timer.unref();
      return;
    }
    setImmediate(() => {
      if (!done) onTimeout();
    });
  };
  let timer = setTimeout(fire, ms);
  timer.unref();
  return {
    clear() {
      done = true;
      clearTimeout(timer);
    },
  };
}
