/** Status endpoints: `/v1/status/leader` is a JSON string ("host:port", "" without a leader); `/peers` a list. */
export type StatusLeader = string;
export type StatusPeers = string[];
