/**
 * The apiextensions.k8s.io/v1 CustomResourceDefinition of each consul-k8s kind, built from `CRD_KINDS`: served and
 * stored as `consul.hashicorp.com/v1alpha1`, namespaced, a status subresource (the controller writes `Synced`
 * there without bumping `generation`), consul-k8s's printer columns (Synced, Last Synced, Age) and short names.
 */
import { CRD_GROUP, CRD_KINDS, CRD_VERSION, type CrdKind } from './kinds.ts';
import { STATUS_SCHEMA } from './schemas.ts';

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

export function crdDefinition(kind: CrdKind, labels: Record<string, string> = {}): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.plural}.${CRD_GROUP}`, labels },
    spec: {
      group: CRD_GROUP,
      names: { kind: kind.kind, listKind: `${kind.kind}List`, plural: kind.plural, singular: kind.kind.toLowerCase(), shortNames: [kind.shortName] },
      scope: 'Namespaced',
      versions: [{
        name: CRD_VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Synced', type: 'string', description: 'The sync status of the resource with the mesh', jsonPath: '.status.conditions[?(@.type=="Synced")].status' },
          { name: 'Last Synced', type: 'date', description: 'The last successful synced time of the resource', jsonPath: '.status.lastSyncedTime' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: `${kind.kind} is written by the CRD controller as the ${kind.entryKind} configuration entry.`,
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: kind.spec,
              status: STATUS_SCHEMA,
            },
          },
        },
      }],
    },
  };
}

export function crdDefinitions(labels: Record<string, string> = {}): CustomResourceDefinition[] {
  return CRD_KINDS.map((kind) => crdDefinition(kind, labels));
}
