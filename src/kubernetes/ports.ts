/** Ports named in annotations and probes, resolved against a pod's containers as consul-k8s's common.PortValue does. */

interface PodPorts {
  spec?: { containers?: Array<{ ports?: Array<{ name?: string; containerPort?: number }> }> };
}

/** A port annotation's value: a number, or the name of one of the pod's container ports. */
export function portValue(pod: PodPorts, raw: string): number {
  const value = raw.trim();
  if (/^\d+$/.test(value)) return Number(value);
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) if (port.name === value && port.containerPort !== undefined) return port.containerPort;
  }
  throw new Error(`port ${JSON.stringify(value)} is neither a number nor a named container port`);
}

/** An IntOrString port (a probe's, a Service's targetPort): a number as is, a name through portValue; absent is 0. */
export function intOrStringPort(pod: PodPorts, port: number | string | undefined): number {
  if (port === undefined) return 0;
  return typeof port === 'number' ? port : portValue(pod, port);
}
