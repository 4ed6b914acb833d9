/**
 * Keys Consul's agent configuration has that Meshgate does not implement (agent/config/config.go, the configuration
 * reference). A file using one gets "not supported by meshgate: <key> (<file>)" — the file is a real Consul file
 * asking for something Meshgate would silently not do — while a key Consul does not know either is an
 * "unknown key" (most often a typo). Keys are listed per block, by the block's dotted path ('' is the top level).
 */
const TOP_LEVEL = [
  'acl_agent_master_token', 'acl_agent_token', 'acl_datacenter', 'acl_default_policy', 'acl_down_policy', 'acl_enable_key_list_policy',
  'acl_master_token', 'acl_replication_token', 'acl_ttl', 'acl_token', 'acl_disabled_ttl', 'advertise_addr', 'advertise_addr_ipv4',
  'advertise_addr_ipv6', 'advertise_addr_wan', 'advertise_addr_wan_ipv4', 'advertise_addr_wan_ipv6', 'advertise_reconnect_timeout',
  'ae_interval', 'alt_domain', 'audit', 'auto_config', 'auto_encrypt', 'auto_reload_config', 'autopilot', 'bootstrap', 'ca_file', 'ca_path',
  'cache', 'cert_file', 'check_deregister_interval_min', 'check_output_max_size', 'check_reap_interval', 'check_update_interval', 'cloud',
  'config_entries', 'consul', 'default_query_time', 'disable_anonymous_signature', 'disable_coordinates', 'disable_host_node_id',
  'disable_http_unprintable_char_filter', 'disable_keyring_file', 'disable_remote_exec', 'disable_update_check', 'discard_check_output',
  'discovery_max_stale', 'dns_config', 'enable_acl_replication', 'enable_agent_tls_for_checks', 'enable_central_service_config',
  'enable_debug', 'enable_local_script_checks', 'enable_script_checks', 'enable_syslog', 'encrypt', 'encrypt_verify_incoming',
  'encrypt_verify_outgoing', 'experiments', 'gossip_lan', 'gossip_wan', 'http_config', 'key_file', 'leave_on_terminate', 'license_path',
  'locality', 'log_file', 'log_json', 'log_rotate_bytes', 'log_rotate_duration', 'log_rotate_max_files', 'max_query_time', 'node_id',
  'node_meta', 'partition', 'peering', 'performance', 'pid_file', 'primary_datacenter', 'primary_gateways', 'primary_gateways_interval',
  'protocol', 'raft_boltdb', 'raft_logstore', 'raft_protocol', 'raft_snapshot_interval', 'raft_snapshot_threshold', 'raft_trailing_logs',
  'read_replica', 'reconnect_timeout', 'reconnect_timeout_wan', 'recursors', 'rejoin_after_leave', 'reporting', 'retry_interval',
  'retry_interval_wan', 'retry_join_wan', 'retry_max', 'retry_max_wan', 'rpc', 'segment', 'segments', 'serf_lan', 'serf_lan_allowed_cidrs',
  'serf_wan', 'serf_wan_allowed_cidrs', 'server_name', 'server_rejoin_age_max', 'session_ttl_min', 'skip_leave_on_interrupt', 'snapshot_agent',
  'start_join', 'start_join_wan', 'syslog_facility', 'tagged_addresses', 'telemetry', 'tls_cipher_suites', 'tls_min_version',
  'tls_prefer_server_cipher_suites', 'translate_wan_addrs', 'ui', 'ui_content_path', 'ui_dir', 'unix_sockets', 'verify_incoming',
  'verify_incoming_https', 'verify_incoming_rpc', 'verify_outgoing', 'verify_server_hostname', 'watches', 'xds', 'non_voting_server',
];

const TLS_BLOCK = ['ca_path', 'tls_cipher_suites', 'use_auto_cert', 'verify_server_hostname'];

const BY_BLOCK: Readonly<Record<string, readonly string[]>> = {
  '': TOP_LEVEL,
  acl: ['enable_key_list_policy', 'policy_ttl', 'role_ttl', 'enable_token_replication', 'msp_disable_bootstrap', 'disabled_ttl'],
  'acl.tokens': ['replication', 'agent_recovery', 'agent_master', 'master', 'config_file_service_registration', 'managed_service_provider'],
  addresses: [],
  ports: ['serf_lan', 'serf_wan', 'server', 'grpc_tls', 'proxy_min_port', 'proxy_max_port', 'expose_min_port', 'expose_max_port'],
  connect: ['enable_mesh_gateway_wan_federation', 'enable_serverless_plugin', 'mesh_gateway_wan_federation'],
  tls: ['grpc', 'internal_rpc'],
  'tls.defaults': TLS_BLOCK,
  'tls.https': TLS_BLOCK,
  ui_config: ['dir', 'metrics_provider', 'metrics_provider_files', 'metrics_provider_options_json', 'metrics_proxy', 'dashboard_url_templates'],
  limits: ['rpc_handshake_timeout', 'rpc_client_timeout', 'rpc_max_burst', 'rpc_max_conns_per_client', 'rpc_rate',
    'kv_max_value_size', 'txn_max_req_len', 'request_limits'],
};

const SETS: ReadonlyMap<string, ReadonlySet<string>> = new Map(Object.entries(BY_BLOCK).map(([block, keys]) => [block, new Set(keys)]));

/** True when `key` inside the block at `blockPath` (dotted, '' for the top) is a Consul key Meshgate leaves out. */
export function isConsulOnlyKey(blockPath: string, key: string): boolean {
  return SETS.get(blockPath)?.has(key) === true;
}
