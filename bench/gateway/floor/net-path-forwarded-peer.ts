/** Peer: net-path.ts adding Traefik's X-Forwarded-* and X-Real-Ip fields, nothing else (the cost of `forwarded`). */
import { startNetPath } from './net-path.ts';

// Exit, not die, on SIGTERM: --cpu-prof writes its profile on exit.
process.on('SIGTERM', () => process.exit(0));

await startNetPath(Number(process.argv[2]), process.argv[3]!, { strict: false, timeoutMs: 0, forwarded: true });
process.send?.('ready');
