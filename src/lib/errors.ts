/**
 * Errors as values with stable codes, created in one place (fastify's catalogue, undici's error classes).
 * A boundary (HTTP handler, CLI command) maps `code` and `statusCode` to its wire form; nothing below it
 * needs to know the transport.
 */
export class MeshgateError extends Error {
  readonly code: string;
  readonly statusCode: number;
  constructor(code: string, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MeshgateError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

type ErrorFactory<A extends unknown[]> = ((...args: A) => MeshgateError) & { code: string; statusCode: number };

/** Declares an error kind once: `const ErrX = defineError('MG_X', 400, (k: string) => \`bad ${k}\`)`. */
export function defineError<A extends unknown[]>(
  code: string,
  statusCode: number,
  message: (...args: A) => string,
): ErrorFactory<A> {
  const factory = ((...args: A) => new MeshgateError(code, statusCode, message(...args))) as ErrorFactory<A>;
  factory.code = code;
  factory.statusCode = statusCode;
  return factory;
}

/**
 * Attaches the underlying error to a coded one (a defineError factory takes only message arguments). The cause is
 * for logs: not enumerable, so it never ends up in a serialized body.
 */
export function withCause<E extends MeshgateError>(err: E, cause: unknown): E {
  Object.defineProperty(err, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
  return err;
}

export function isMeshgateError(err: unknown, code?: string): err is MeshgateError {
  return err instanceof MeshgateError && (code === undefined || err.code === code);
}

/** The catalogue shared by every part. Part-specific errors live beside their part and use defineError too. */
export const Errors = {
  badRequest: defineError('MG_BAD_REQUEST', 400, (message: string) => message),
  notFound: defineError('MG_NOT_FOUND', 404, (message: string) => message),
  methodNotAllowed: defineError('MG_METHOD_NOT_ALLOWED', 405, (method: string, _path: string) => `method ${method} not allowed`),
  permissionDenied: defineError('MG_PERMISSION_DENIED', 403, (message?: string) => message ?? 'Permission denied'),
  conflict: defineError('MG_CONFLICT', 409, (message: string) => message),
  payloadTooLarge: defineError('MG_PAYLOAD_TOO_LARGE', 413, (message: string) => message),
  unsupportedMediaType: defineError('MG_UNSUPPORTED_MEDIA_TYPE', 415, (message: string) => message),
  tooManyRequests: defineError('MG_TOO_MANY_REQUESTS', 429, (message: string) => message),
  internal: defineError('MG_INTERNAL', 500, (message: string) => message),
  unavailable: defineError('MG_UNAVAILABLE', 503, (message: string) => message),
  invalidConfig: defineError('MG_INVALID_CONFIG', 400, (message: string) => message),
} as const;
