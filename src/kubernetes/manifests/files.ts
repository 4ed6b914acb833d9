/**
 * Every file of the installation: its name (the chart's `templates/<file>`), the values that must all be true for
 * it to be installed, and its objects. `meshgate k8s manifests` and the chart generator both read this list, so a
 * file's condition is written once. The webhook file also carries, for the chart only, the template lines that
 * generate its CA and serving certificate (Helm's `genCA` / `genSignedCert`: a year, the Service's DNS names), as
 * the command does with the injector's own generator (`../inject/certs.ts`).
 */
import type { BuildContext, KubeObject } from './common.ts';
import { aclInitObjects } from './components/acl-init.ts';
import { connectInjectObjects, webhookObjects } from './components/connect-inject.ts';
import { crdObjects } from './components/crd-controller.ts';
import { serverObjects, uiObjects } from './components/server.ts';
import { syncCatalogObjects, syncCatalogToK8sObjects } from './components/sync-catalog.ts';

export interface ManifestFile {
  readonly file: string;
  /** Dotted value paths; the file is installed when every one is true. */
  readonly when: readonly string[];
  /** Template lines put before the objects in the chart. */
  readonly helmPrelude?: string;
  build(ctx: BuildContext): KubeObject[];
}

export const HELM_WEBHOOK_PRELUDE = [
  '{{- $name := printf "%s-connect-injector" .Values.global.name }}',
  '{{- $ca := genCA (printf "%s-ca" $name) 365 }}',
  '{{- $svc := printf "%s.%s.svc" $name .Release.Namespace }}',
  '{{- $cert := genSignedCert $name nil (list $name (printf "%s.%s" $name .Release.Namespace) $svc (printf "%s.cluster.local" $svc)) 365 $ca }}',
].join('\n');

export const MANIFEST_FILES: readonly ManifestFile[] = [
  { file: 'crds.yaml', when: ['connectInject.enabled'], build: crdObjects },
  { file: 'server.yaml', when: ['server.enabled'], build: serverObjects },
  { file: 'ui-service.yaml', when: ['server.enabled', 'ui.enabled'], build: uiObjects },
  { file: 'server-acl-init.yaml', when: ['global.acls.manageSystemACLs'], build: aclInitObjects },
  { file: 'connect-injector.yaml', when: ['connectInject.enabled'], build: connectInjectObjects },
  { file: 'connect-injector-webhook.yaml', when: ['connectInject.enabled'], helmPrelude: HELM_WEBHOOK_PRELUDE, build: webhookObjects },
  { file: 'sync-catalog.yaml', when: ['syncCatalog.enabled'], build: syncCatalogObjects },
  { file: 'sync-catalog-to-k8s-role.yaml', when: ['syncCatalog.enabled', 'syncCatalog.toK8S'], build: syncCatalogToK8sObjects },
];
