/**
 * Peer (b+): net-path.ts with what a production data path cannot skip and the benchmark can measure — method, target,
 * field names and values checked (client and upstream heads), idle/response timeouts on both sides, and Traefik's
 * X-Forwarded-* fields. `port upstream`.
 */
import { startNetPath } from './net-path.ts';

// Exit, not die, on SIGTERM: --cpu-prof writes its profile on exit.
process.on('SIGTERM', () => process.exit(0));

await startNetPath(Number(process.argv[2]), process.argv[3]!, { strict: true, timeoutMs: 90_000, forwarded: true });
process.send?.('ready');
