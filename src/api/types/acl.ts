/**
 * ACL tokens, policies and roles as Consul's HTTP API carries them (api/acl.go: ACLToken, ACLTokenListEntry,
 * ACLPolicy, ACLPolicyListEntry, ACLRole, ACLLink, ACLServiceIdentity, ACLNodeIdentity).
 */

export interface ACLLink {
  ID?: string;
  Name?: string;
}

export interface ACLServiceIdentity {
  ServiceName: string;
  Datacenters?: string[];
}

export interface ACLNodeIdentity {
  NodeName: string;
  Datacenter: string;
}

export interface ACLToken {
  AccessorID: string;
  /** "<hidden>" for a reader without acl:write. */
  SecretID: string;
  Description: string;
  Policies?: ACLLink[];
  Roles?: ACLLink[];
  ServiceIdentities?: ACLServiceIdentity[];
  NodeIdentities?: ACLNodeIdentity[];
  Local: boolean;
  AuthMethod?: string;
  /** RFC 3339. */
  ExpirationTime?: string;
  CreateTime: string;
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What `PUT /v1/acl/token` and `PUT /v1/acl/token/:id` take. */
export interface ACLTokenWrite {
  AccessorID?: string;
  SecretID?: string;
  Description?: string;
  Policies?: ACLLink[];
  Roles?: ACLLink[];
  ServiceIdentities?: ACLServiceIdentity[];
  NodeIdentities?: ACLNodeIdentity[];
  Local?: boolean;
  ExpirationTime?: string;
  /** A Go duration ("1h"). */
  ExpirationTTL?: string;
}

export interface ACLPolicy {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters?: string[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export type ACLPolicyListEntry = Omit<ACLPolicy, 'Rules'>;

export interface ACLPolicyWrite {
  ID?: string;
  Name: string;
  Description?: string;
  Rules?: string;
  Datacenters?: string[];
}

export interface ACLRole {
  ID: string;
  Name: string;
  Description: string;
  Policies?: ACLLink[];
  ServiceIdentities?: ACLServiceIdentity[];
  NodeIdentities?: ACLNodeIdentity[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ACLRoleWrite {
  ID?: string;
  Name: string;
  Description?: string;
  Policies?: ACLLink[];
  ServiceIdentities?: ACLServiceIdentity[];
  NodeIdentities?: ACLNodeIdentity[];
}

/** `GET /v1/acl/tokens` filters. */
export interface ACLTokenFilter {
  policy?: string;
  role?: string;
  authMethod?: string;
  serviceName?: string;
}
