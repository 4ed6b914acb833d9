/**
 * The ACL rules of each Meshgate component's token, least privilege for what it does through the HTTP API (the
 * shape of consul-k8s's server-acl-init rules.go: connect-inject, sync-catalog and the controller get their own
 * policy). The connect injector runs the endpoints controller (catalog writes, reading and deleting pods' login
 * tokens) and may run the CRD controller; the CRD controller writes configuration entries; catalog sync writes its
 * node's services and reads the catalog back.
 */
export const COMPONENTS = ['connect-injector', 'crd-controller', 'sync-catalog'] as const;
export type Component = (typeof COMPONENTS)[number];

const CONFIG_ENTRIES = `operator = "write"
mesh = "write"
service_prefix "" {
  policy = "write"
  intentions = "write"
}
agent_prefix "" {
  policy = "read"
}`;

export const COMPONENT_RULES: Record<Component, string> = {
  'connect-injector': `acl = "write"
${CONFIG_ENTRIES}
node_prefix "" {
  policy = "write"
}`,
  'crd-controller': CONFIG_ENTRIES,
  'sync-catalog': `node_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
}
agent_prefix "" {
  policy = "read"
}`,
};
