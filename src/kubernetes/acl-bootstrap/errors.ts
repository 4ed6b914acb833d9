/** server-acl-init's coded errors (rows in docs/errors.md). */
import { defineError } from '../../lib/errors.ts';

/**
 * server-acl-init cannot get on: no management token (the ACL system was bootstrapped elsewhere and none was given),
 * no CA for the auth method, or the reviewer's token never appeared in its Secret. The message says what to do.
 */
export const ErrServerAclInit = defineError('MG_K8S_SERVER_ACL_INIT', 500, (message: string) => message);
