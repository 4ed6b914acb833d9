/**
 * Who the app is talking as: `/v1/acl/token/self` with the stored token. Asked once per token change (it is not a
 * blocking endpoint); the answer says whether ACLs are on at all (Consul's 401 "ACL support disabled").
 */
import { useEffect, useState } from 'react';
import { ApiError, consulJson, isAclDisabled } from './http.ts';
import { useToken } from './token.ts';

export interface AclToken {
  AccessorID: string;
  SecretID?: string;
  Description?: string;
  Policies?: Array<{ ID?: string; Name?: string }>;
  Roles?: Array<{ ID?: string; Name?: string }>;
  ServiceIdentities?: Array<{ ServiceName: string }>;
  AuthMethod?: string;
  Local?: boolean;
  CreateTime?: string;
  ExpirationTime?: string;
}

export type Identity =
  | { state: 'checking' }
  | { state: 'disabled' }
  | { state: 'anonymous'; error?: ApiError }
  | { state: 'token'; token: AclToken }
  | { state: 'rejected'; error: ApiError }
  | { state: 'unreachable'; error: ApiError };

export function useIdentity(): Identity {
  const stored = useToken();
  const [identity, setIdentity] = useState<Identity>({ state: 'checking' });
  useEffect(() => {
    const controller = new AbortController();
    setIdentity({ state: 'checking' });
    consulJson<AclToken>('/v1/acl/token/self', { signal: controller.signal })
      .then((token) => setIdentity({ state: 'token', token }))
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        const error = err instanceof ApiError ? err : new ApiError(0, String(err), '/v1/acl/token/self');
        if (isAclDisabled(error)) setIdentity({ state: 'disabled' });
        else if (error.status === 0 || error.status >= 500) setIdentity({ state: 'unreachable', error });
        else if (stored) setIdentity({ state: 'rejected', error });
        else setIdentity({ state: 'anonymous', error });
      });
    return () => controller.abort();
  }, [stored?.secretId]);
  return identity;
}
