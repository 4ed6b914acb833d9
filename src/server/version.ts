/**
 * The versions `meshgate server` reports. Clients gate features on the Consul version they see (Nomad refuses to
 * place a task group with a Consul service below Consul 1.7; consul-template, Vault and the Go `api` package check
 * it too), so the places Consul puts its own version — `/v1/agent/self` `Config.Version` and `DebugConfig.Version`,
 * the member `build` tag, the node meta `consul-version` and the `consul` service's meta `version` — carry the Consul
 * API version whose HTTP behaviour Meshgate follows, plain `x.y.z` (a `-suffix` would be a pre-release, which
 * go-version constraints such as `>= 1.7.0` refuse). Meshgate's own version goes where Consul keeps version
 * metadata: `DebugConfig.VersionMetadata`, `Stats.build.version_metadata`, and after the revision separator in the
 * member `build` tag (`1.21.0:meshgate-0.1.0`; Consul reads the first `x.y.z` in it). See docs/compatibility.md.
 */
export const MESHGATE_VERSION = '0.1.0';
export const CONSUL_API_VERSION = '1.21.0';
/** Where Consul keeps version metadata (its `+ent` is this kind of thing). */
export const VERSION_METADATA = `meshgate.${MESHGATE_VERSION}`;
