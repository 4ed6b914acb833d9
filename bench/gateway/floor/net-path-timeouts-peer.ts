/** Peer: net-path.ts with idle/response timeouts on both sockets, nothing else added (the cost of `timeoutMs`). */
import { startNetPath } from './net-path.ts';

// Exit, not die, on SIGTERM: --cpu-prof writes its profile on exit.
process.on('SIGTERM', () => process.exit(0));

await startNetPath(Number(process.argv[2]), process.argv[3]!, { strict: false, timeoutMs: 90_000, forwarded: false });
process.send?.('ready');
