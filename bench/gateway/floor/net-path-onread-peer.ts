/** Peer: net-path.ts (base form) whose upstream client reads into one shared buffer (net's `onread`), not a Buffer per read. */
import { startNetPath } from './net-path.ts';

// Exit, not die, on SIGTERM: --cpu-prof writes its profile on exit.
process.on('SIGTERM', () => process.exit(0));

await startNetPath(Number(process.argv[2]), process.argv[3]!, { strict: false, timeoutMs: 0, forwarded: false, staticRead: true });
process.send?.('ready');
