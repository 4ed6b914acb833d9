/** Connect CA wire types: `/v1/agent/connect/ca/roots` and `/v1/agent/connect/ca/leaf/:service` (api/connect_ca.go, api/agent.go). */

/** One CA root (api.CARoot); private keys never leave the server. */
export interface CARoot {
  ID: string;
  Name: string;
  SerialNumber?: number;
  SigningKeyID?: string;
  ExternalTrustDomain?: string;
  NotBefore?: string;
  NotAfter?: string;
  RootCert: string;
  /** Certificates between the root and its leaves, e.g. a new root cross-signed by the old during a rotation. */
  IntermediateCerts: string[] | null;
  Active: boolean;
  PrivateKeyType?: string;
  PrivateKeyBits?: number;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** `GET /v1/agent/connect/ca/roots` body (api.CARootList). */
export interface CARootList {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: CARoot[] | null;
}

/** `GET /v1/agent/connect/ca/leaf/:service` body (api.LeafCert). */
export interface LeafCert {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  CreateIndex: number;
  ModifyIndex: number;
}
