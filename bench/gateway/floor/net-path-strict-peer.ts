/** Peer: net-path.ts with field names and values, method and target checked, nothing else added (the cost of `strict`). */
import { startNetPath } from './net-path.ts';

// Exit, not die, on SIGTERM: --cpu-prof writes its profile on exit.
process.on('SIGTERM', () => process.exit(0));

await startNetPath(Number(process.argv[2]), process.argv[3]!, { strict: true, timeoutMs: 0, forwarded: false });
process.send?.('ready');
