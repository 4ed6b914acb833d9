/**
 * grpcWeb: Traefik converts gRPC-Web requests into gRPC for the service. That needs HTTP/2 to the upstream and
 * response trailers in the ResponseWriter, which Meshgate's data plane does not have yet, so the kind is
 * declared (its keys are validated) and building it fails with a message that says why, instead of "unknown kind".
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';

export const grpcWebSchema = z.object({ allowOrigins: z.array(z.string()).optional() }).strict();

registerMiddleware('grpcWeb', {
  schema: grpcWebSchema,
  create() {
    throw new Error('grpcWeb is not supported yet: it needs HTTP/2 upstreams and response trailers in the gateway data plane');
  },
});
