/** Errors of auth methods, binding rules and login, in Consul's words (agent/consul/acl_endpoint.go). */
import { defineError } from '../../../lib/errors.ts';

/** A method or rule that fails Consul's validation: 400 with Consul's "Invalid Auth Method: …" style text. */
export const ErrAuthMethodInvalid = defineError('MG_ACL_AUTH_METHOD_INVALID', 400, (message: string) => message);
/**
 * A bearer token the method does not accept (bad signature, expired, wrong issuer or audience). Consul lets this
 * surface as an RPC error (500); it is the caller's credential that is wrong, so Meshgate answers 403.
 */
export const ErrLoginRejected = defineError('MG_ACL_LOGIN_REJECTED', 403, (message: string) => `Permission denied: ${message}`);
/**
 * The Kubernetes API refused or failed the `kubernetes` auth method's own calls (TokenReview, the ServiceAccount
 * read) — the method's configuration is at fault (a reviewer without the system:auth-delegator binding, a wrong
 * Host or CACert), not the caller's token; Consul answers these as a 500 RPC error too.
 */
export const ErrKubernetesApi = defineError('MG_ACL_K8S_API_FAILED', 500, (message: string) => message);
