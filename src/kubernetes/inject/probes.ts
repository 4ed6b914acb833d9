/**
 * consul-k8s's MeshWebhook.overwriteProbes (webhook/mesh_webhook.go), for a pod in transparent mode whose probes
 * are to be overwritten: every app container's liveness, readiness and startup probe that is an HTTP GET is moved
 * to port 20300/20400/20500 + the container's index, which the sidecar serves as an expose path to the original
 * port (src/kubernetes/probes.ts explains why). Returns the moved ports, which the redirect must let through
 * (redirect_traffic.go's iptablesConfigJSON excludes exactly these), in consul-k8s's order.
 */
import { PROBES, exposedProbePort, type ContainerLike } from '../probes.ts';

export function overwriteProbes(containers: ContainerLike[]): string[] {
  const moved: string[] = [];
  containers.forEach((container, index) => {
    for (const [kind] of PROBES) {
      const httpGet = container[kind]?.httpGet;
      if (!httpGet) continue;
      httpGet.port = exposedProbePort(kind, index);
      moved.push(String(httpGet.port));
    }
  });
  return moved;
}
