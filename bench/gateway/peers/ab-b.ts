/** A/B peer "B": the gateway of the checkout in MESHGATE_AB_B (default: this checkout). See ab-gateway.ts. */
import { fileURLToPath } from 'node:url';
import { runAbPeer } from './ab-gateway.ts';

await runAbPeer(process.env.MESHGATE_AB_B ?? fileURLToPath(new URL('../../..', import.meta.url)));
