/** A/B peer "A": the gateway of the checkout in MESHGATE_AB_A (default: this checkout). See ab-gateway.ts. */
import { fileURLToPath } from 'node:url';
import { runAbPeer } from './ab-gateway.ts';

await runAbPeer(process.env.MESHGATE_AB_A ?? fileURLToPath(new URL('../../..', import.meta.url)));
