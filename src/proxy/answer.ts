/**
 * Relaying an HTTP/1.1 answer to the caller that asked for it. `pipe` alone only unpipes when the caller's response
 * closes early, leaving the answer paused, half read, on a connection that neither returns to its keep-alive pool nor
 * closes: the sending side (the destination's sidecar, or the app) keeps a stream open for a caller long gone. As Go's
 * reverse proxy cancels the backend request when its client goes (the incoming request's context) and Envoy resets
 * the upstream stream on a downstream reset, the answer is destroyed then, which closes its connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Pipes `answer` into `res`; if `res` closes before the answer ended, destroys the answer and calls `onAbandoned`. */
export function relayAnswer(answer: IncomingMessage, res: ServerResponse, onAbandoned: () => void): void {
  answer.pipe(res);
  res.once('close', () => {
    if (answer.readableEnded) return;
    answer.destroy();
    onAbandoned();
  });
}
