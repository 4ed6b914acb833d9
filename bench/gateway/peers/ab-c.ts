/** A/B peer "C": the gateway of the checkout in MESHGATE_AB_C (default: this checkout). See ab-gateway.ts. */
import { fileURLToPath } from 'node:url';
import { runAbPeer } from './ab-gateway.ts';

await runAbPeer(process.env.MESHGATE_AB_C ?? fileURLToPath(new URL('../../..', import.meta.url)));
