/** The injector's and acl-init's coded errors (rows in docs/errors.md). */
import { defineError } from '../../lib/errors.ts';

/** An annotation the injector reads has a value it cannot use: the pod is admitted uninjected with this reason. */
export const ErrInjectAnnotation = defineError('MG_K8S_INJECT_ANNOTATION', 400, (key: string, value: string, why: string) =>
  `annotation ${key}: invalid value ${JSON.stringify(value)}: ${why}`);

/** A flag of `meshgate k8s connect-inject` or `acl-init` is missing or has an unusable value. */
export const ErrInjectFlag = defineError('MG_K8S_INJECT_FLAG', 400, (flag: string, why: string) => `--${flag}: ${why}`);

/** acl-init could not read the pod's service-account token file. */
export const ErrAclInitBearerToken = defineError('MG_K8S_ACL_INIT_BEARER_TOKEN', 400, (path: string, why: string) =>
  `reading the service-account token ${path}: ${why}`);

/** The server refused the login (a definite answer, not retried). */
export const ErrAclInitLogin = defineError('MG_K8S_ACL_INIT_LOGIN', 403, (authMethod: string, why: string) =>
  `login with auth method "${authMethod}" refused: ${why}`);
