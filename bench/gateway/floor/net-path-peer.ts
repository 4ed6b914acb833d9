/** Peer (b): the whole path ours (net-path.ts), base form — nothing checked beyond framing, no timeouts. `port upstream`. */
import { startNetPath } from './net-path.ts';

// Exit, not die, on SIGTERM: --cpu-prof writes its profile on exit.
process.on('SIGTERM', () => process.exit(0));

await startNetPath(Number(process.argv[2]), process.argv[3]!, { strict: false, timeoutMs: 0, forwarded: false });
process.send?.('ready');
