/** The real thing: `runGateway` (what `meshgate gateway --workers 1` runs) on a static configuration file. */
import { runGateway } from '../../../src/gateway/main.ts';
import { silentLogger } from '../../../src/lib/logger.ts';

const configFile = process.argv[2]!;
const handle = await runGateway({ configFile, workers: 1, lastGoodFile: false, handleSignals: true, logger: silentLogger() });
process.send?.({ ready: true, addresses: handle.addresses() });
