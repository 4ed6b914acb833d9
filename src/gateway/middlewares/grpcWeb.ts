/**
 * grpcWeb: Traefik's pkg/middlewares/grpcweb, which wraps improbable-eng's grpcweb.WrapHandler (traefik/grpc-web
 * go/grpcweb/wrapper.go and grpc_web_response.go) with `WithCorsForRegisteredEndpointsOnly(false)` and an origin
 * function that accepts `*` or an exact `allowOrigins` entry. A POST whose content-type starts with
 * `application/grpc-web` becomes a gRPC request for the service (content-type `application/grpc…`, `te: trailers`,
 * the `-text` body base64-decoded); the gRPC response goes back as gRPC-Web: its content-type renamed, its trailers
 * appended to the body as one length-prefixed frame with flag 0x80 (lower-case `name: value\r\n` lines), the whole
 * body base64-encoded for `-text`. An OPTIONS preflight asking for `x-grpc-web` is answered here (rs/cors); every
 * other request passes through untouched. The conversion of the response lives in grpcWebWriter.ts.
 */
import { z } from 'zod';
import type { GatewayRequest, Handler, ResponseWriter } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';
import { deriveRequest, requestHeader } from '../http/request.ts';
import { Base64DecodeStream, GrpcWebWriter, preflightHeaders } from './grpcWebWriter.ts';

export const grpcWebSchema = z.object({ allowOrigins: z.array(z.string()).optional() }).strict();

const GRPC_WEB = 'application/grpc-web';
const GRPC_WEB_TEXT = 'application/grpc-web-text';

registerMiddleware('grpcWeb', {
  schema: grpcWebSchema,
  create(config) {
    const origins = new Set(config.allowOrigins ?? []);
    // Traefik's origin function: `*` or an exact match; no Origin header means a same-origin or non-browser client.
    const allowed = (origin: string): boolean => origins.has('*') || origins.has(origin);
    return (next: Handler): Handler => async (req, rw) => {
      const contentType = requestHeader(req, 'content-type') ?? '';
      if (req.method === 'POST' && contentType.startsWith(GRPC_WEB)) return serveGrpcWeb(req, rw, next, contentType, allowed);
      const requested = requestHeader(req, 'access-control-request-headers');
      if (req.method === 'OPTIONS' && requested !== undefined && requested.toLowerCase().includes('x-grpc-web')) {
        const headers = preflightHeaders(req, allowed);
        rw.writeHead(204, headers);
        rw.end();
        return;
      }
      return next(req, rw);
    };
  },
});

function serveGrpcWeb(req: GatewayRequest, rw: ResponseWriter, next: Handler, contentType: string, allowed: (origin: string) => boolean): Promise<void> {
  const text = contentType.startsWith(GRPC_WEB_TEXT);
  // rs/cors on the actual request: the origin is echoed with credentials allowed, and caches are told it varies.
  const origin = requestHeader(req, 'origin');
  const preset = rw.headers;
  preset.vary = 'Origin';
  if (origin !== undefined && allowed(origin)) {
    preset['access-control-allow-origin'] = origin;
    preset['access-control-allow-credentials'] = 'true';
  }
  const headers = req.headers;
  headers['content-type'] = contentType.replace(text ? GRPC_WEB_TEXT : GRPC_WEB, 'application/grpc');
  headers.te = 'trailers';
  let body = req.body;
  if (text) {
    // The decoded body is shorter than the one the client announced: streamed on, its length unknown (Go's
    // wrapper drops Content-Length too), so the proxy sends it as a stream.
    delete headers['content-length'];
    headers['transfer-encoding'] = 'chunked';
    body = req.body.pipe(new Base64DecodeStream());
  }
  const grpcReq = text ? deriveRequest(req, { body }) : req;
  return next(grpcReq, new GrpcWebWriter(rw, text ? GRPC_WEB_TEXT : GRPC_WEB));
}
