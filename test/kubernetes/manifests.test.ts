/**
 * `meshgate k8s manifests`: what it renders validates against Kubernetes' OpenAPI schemas (kubernetes-models, the
 * schemas of the API server's own /openapi) and applies to the API server in use (the in-process one, or a real one
 * with MESHGATE_TEST_KUBECONFIG); the server's configuration file is one `meshgate server` accepts; values are
 * checked key by key; RBAC grants only what the controllers call; the checked-in Helm chart is what the builders
 * generate now.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { buildProgram, main } from '../../src/cli/main.ts';
import { captureIO } from '../../src/cli/testing.ts';
import { AgentConfigFileSchema } from '../../src/lib/agent-config/schema.ts';
import { isMeshgateError } from '../../src/lib/errors.ts';
import type { KubeObject } from '../../src/kubernetes/manifests/common.ts';
import { CONFIG_FILE } from '../../src/kubernetes/manifests/components/server.ts';
import { CHART_DIR, renderChart } from '../../src/kubernetes/manifests/helm.ts';
import { renderManifests } from '../../src/kubernetes/manifests/render.ts';
import { parseValues, validateValues } from '../../src/kubernetes/manifests/values.ts';
import { REPO_ROOT } from '../helpers/server.ts';
import { tempDir } from '../gateway/helpers.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';
import { fakeWebhookTls, renderTemplate } from './go-template.ts';

const EVERYTHING = { global: { acls: { manageSystemACLs: true } }, syncCatalog: { enabled: true }, ui: { service: { type: 'NodePort' } } };

/** The kubernetes-models class of an object, by its apiVersion and kind (`v1/Service`, `apps/v1/Deployment`). */
async function model(object: KubeObject): Promise<new (data: unknown) => { validate(): void }> {
  const module = await import(`kubernetes-models/${object.apiVersion}/${object.kind}`) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  assert.ok(Model, `kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  return Model;
}

const resourceOf = (kind: string): string => `${kind.toLowerCase()}s`;

let cluster: TestCluster;
before(async () => {
  cluster = await startTestCluster();
});
after(() => cluster.close());

test('every rendered object validates against Kubernetes\' OpenAPI schemas, for the defaults and with everything on', async () => {
  for (const input of [{}, EVERYTHING]) {
    const objects = await renderManifests(validateValues(input), { namespace: 'mesh' });
    assert.ok(objects.length > 10);
    for (const object of objects) {
      const Model = await model(object);
      assert.doesNotThrow(() => new Model(object).validate(), `${object.kind} ${object.metadata.name}`);
    }
  }
  // The validation can fail: a wrong type in a rendered object is caught.
  const [statefulSet] = (await renderManifests(validateValues({}), { namespace: 'mesh' })).filter((o) => o.kind === 'StatefulSet');
  const broken = structuredClone(statefulSet!);
  (broken['spec'] as { replicas: unknown }).replicas = 'three';
  const Model = await model(broken);
  assert.throws(() => new Model(broken).validate(), /replicas/);
});

test('the values decide what is installed and how', async () => {
  const kinds = async (input: unknown) => (await renderManifests(validateValues(input), { namespace: 'mesh' })).map((o) => `${o.kind}/${o.metadata.name}`);
  const defaults = await kinds({});
  assert.ok(defaults.includes('StatefulSet/meshgate-server'));
  assert.ok(defaults.includes('Deployment/meshgate-connect-injector'));
  assert.ok(defaults.includes('MutatingWebhookConfiguration/meshgate-connect-injector'));
  assert.ok(defaults.includes('CustomResourceDefinition/serviceintentions.consul.hashicorp.com'));
  assert.ok(defaults.includes('Service/meshgate-ui'));
  assert.ok(!defaults.some((k) => k.includes('sync-catalog')), 'sync is off by default, as in consul-k8s');
  assert.ok(!defaults.some((k) => k.startsWith('Job/')), 'no ACL bootstrap without manageSystemACLs');

  const all = await renderManifests(validateValues({ ...EVERYTHING, global: { ...EVERYTHING.global, name: 'mg' }, server: { replicas: 3, store: { backend: 'etcd', etcdEndpoints: 'http://etcd:2379' } } }), { namespace: 'mesh' });
  const byName = (kind: string, name: string) => all.find((o) => o.kind === kind && o.metadata.name === name) as any;
  assert.equal(byName('StatefulSet', 'mg-server').spec.replicas, 3);
  assert.ok(byName('StatefulSet', 'mg-server').spec.template.spec.containers[0].args.includes('--etcd-endpoints=http://etcd:2379'));
  assert.ok(byName('Job', 'mg-server-acl-init'));
  assert.equal(byName('Service', 'mg-ui').spec.type, 'NodePort');
  const sync = byName('Deployment', 'mg-sync-catalog').spec.template.spec.containers[0];
  assert.ok(sync.args.includes('--deny-k8s-namespace=kube-system') && sync.args.includes('--add-k8s-namespace-suffix'));
  // With managed ACLs a component waits for its token Secret; without, the Secret is optional.
  assert.equal(sync.env.find((e: { name: string }) => e.name === 'MESHGATE_HTTP_TOKEN').valueFrom.secretKeyRef.optional, false);
  const injector = byName('Deployment', 'mg-connect-injector').spec.template.spec.containers[0];
  assert.ok(injector.args.includes('--default-enable-transparent-proxy=true'));
  assert.ok(injector.args.includes('--http-addr=mg-server.mesh.svc:8500'));
  assert.ok(injector.args.includes('--acl-auth-method=mg-k8s-auth-method') && injector.args.includes('--enable-crd-controller=true'));
  const noAcl = (await renderManifests(validateValues({}), { namespace: 'mesh' })).find((o) => o.kind === 'Deployment') as any;
  assert.equal(noAcl.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'MESHGATE_HTTP_TOKEN').valueFrom.secretKeyRef.optional, true);
});

test('every container runs a meshgate command that exists, with flags that command has', async () => {
  const program = buildProgram(captureIO());
  const objects = await renderManifests(validateValues(EVERYTHING), { namespace: 'mesh' });
  const containers = objects.flatMap((o: any) => o.spec?.template?.spec?.containers ?? []) as Array<{ name: string; args: string[] }>;
  const checked: string[] = [];
  for (const c of containers) {
    const words = c.args.filter((a) => !a.startsWith('-'));
    let command = program;
    for (const word of words) command = command.commands.find((sub) => sub.name() === word) ?? command;
    const path = words.join(' ');
    assert.ok(command !== program && command.name() === words.at(-1), `${c.name}: no command "meshgate ${path}"`);
    const known = new Set(command.options.map((o) => o.long));
    for (const arg of c.args.filter((a) => a.startsWith('--'))) assert.ok(known.has(arg.split('=')[0]), `${c.name}: meshgate ${path} has no ${arg.split('=')[0]}`);
    checked.push(path);
  }
  assert.deepEqual(checked.sort(), ['k8s connect-inject', 'k8s server-acl-init', 'k8s sync-catalog', 'server']);
});

test('the server\'s configuration file is one meshgate server loads', async () => {
  for (const input of [{}, EVERYTHING]) {
    const objects = await renderManifests(validateValues(input), { namespace: 'mesh' });
    const configMap = objects.find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> } | undefined;
    const config = AgentConfigFileSchema.parse(JSON.parse(configMap!.data[CONFIG_FILE]!));
    assert.equal(config.acl?.enabled, input === EVERYTHING);
    assert.equal(config.datacenter, 'dc1');
  }
});

test('the webhook carries the CA that signed the injector\'s serving certificate, for the Service\'s DNS names', async () => {
  const { X509Certificate } = await import('node:crypto');
  const objects = await renderManifests(validateValues({}), { namespace: 'mesh' });
  const webhook = (objects.find((o) => o.kind === 'MutatingWebhookConfiguration') as any).webhooks[0];
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'meshgate-connect-injector-tls') as any;
  const ca = new X509Certificate(Buffer.from(webhook.clientConfig.caBundle, 'base64'));
  const leaf = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
  assert.ok(leaf.verify(ca.publicKey), 'the leaf is signed by the bundle\'s CA');
  assert.ok(leaf.checkHost('meshgate-connect-injector.mesh.svc'));
  assert.deepEqual(webhook.clientConfig.service, { name: 'meshgate-connect-injector', namespace: 'mesh', path: '/mutate', port: 443 });
  assert.deepEqual(webhook.rules[0].operations, ['CREATE']);
  // consul-k8s's chart: failurePolicy from connectInject.failurePolicy, "Fail" by default, its own pods exempt
  // (charts/consul/templates/connect-inject-mutatingwebhookconfiguration.yaml objectSelector app NotIn [consul]).
  assert.equal(webhook.failurePolicy, 'Fail');
  assert.deepEqual(webhook.objectSelector, { matchExpressions: [{ key: 'app.kubernetes.io/instance', operator: 'NotIn', values: ['meshgate'] }] });
  const injector = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'meshgate-connect-injector') as any;
  assert.equal(injector.spec.template.metadata.labels['app.kubernetes.io/instance'], 'meshgate', 'the injector\'s own pods are exempt');
  const ignoring = await renderManifests(validateValues({ connectInject: { failurePolicy: 'Ignore' } }), { namespace: 'mesh' });
  assert.equal((ignoring.find((o) => o.kind === 'MutatingWebhookConfiguration') as any).webhooks[0].failurePolicy, 'Ignore');
});

test('RBAC grants only what the controllers call: no wildcard, no write outside their own kinds', async () => {
  const objects = await renderManifests(validateValues(EVERYTHING), { namespace: 'mesh' });
  const rules = (name: string) => (objects.find((o) => (o.kind === 'ClusterRole' || o.kind === 'Role') && o.metadata.name === name) as any).rules;
  for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role') as any[]) {
    for (const rule of o.rules) {
      assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*') && !rule.apiGroups.includes('*'), `${o.metadata.name}: no wildcard`);
    }
  }
  // src/kubernetes/sync: list+watch of Services, EndpointSlices, Nodes; writes Services only in its namespace.
  assert.deepEqual(rules('meshgate-sync-catalog'), [
    { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ]);
  assert.equal(objects.find((o) => o.metadata.name === 'meshgate-sync-catalog-to-k8s' && o.kind === 'Role')!.metadata.namespace, 'mesh');
  // The injector: its webhook reads namespaces, the CRD controller in it updates its kinds and their status only.
  const injector = rules('meshgate-connect-injector');
  assert.deepEqual(injector[0], { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] });
  const crd = injector.filter((r: { apiGroups: string[] }) => r.apiGroups.includes('consul.hashicorp.com'));
  assert.deepEqual(crd.map((r: { verbs: string[] }) => r.verbs), [['list', 'watch', 'update'], ['update']]);
  assert.ok(crd[1].resources.every((r: string) => r.endsWith('/status')));
  assert.ok(!injector.some((r: { verbs: string[]; apiGroups: string[] }) => r.apiGroups.includes('') && r.verbs.some((v) => ['create', 'update', 'delete', 'patch'].includes(v))));
  // src/kubernetes/leader.ts: read, create, replace its Lease.
  assert.deepEqual((objects.find((o) => o.kind === 'Role' && o.metadata.name === 'meshgate-connect-injector') as any).rules, [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ]);
  const server = objects.find((o) => o.kind === 'StatefulSet') as any;
  assert.equal(server.spec.template.spec.automountServiceAccountToken, false, 'the server calls no Kubernetes API');
  // Only the auth method's account may create TokenReviews (system:auth-delegator).
  const delegators = objects.filter((o) => o.kind === 'ClusterRoleBinding' && (o as any).roleRef.name === 'system:auth-delegator');
  assert.deepEqual(delegators.map((o) => (o as any).subjects[0].name), ['meshgate-auth-method']);
});

test('a values file with an unknown or invalid key is refused with its path named', () => {
  const refused = (text: string): string => {
    try {
      parseValues(text);
    } catch (err) {
      assert.ok(isMeshgateError(err, 'MG_K8S_VALUES_INVALID'));
      assert.equal(err.statusCode, 400);
      return err.message;
    }
    assert.fail(`accepted: ${text}`);
  };
  assert.match(refused('server:\n  replica: 3\n'), /unknown key: server\.replica/);
  assert.match(refused('global:\n  acls:\n    manageSystemACL: true\n'), /unknown key: global\.acls\.manageSystemACL\b/);
  assert.match(refused('server:\n  replicas: 3\n'), /server\.replicas: more than one server replica needs server\.store\.backend: etcd/);
  assert.match(refused('connectInject:\n  enabled: "yes"\n'), /connectInject\.enabled:/);
  assert.match(refused('global:\n  name: My_Mesh\n'), /global\.name: expected a DNS label/);
  assert.match(refused('a: [\n'), /not YAML/);
  // consul-k8s's own shapes load.
  assert.equal(parseValues('global:\n  name: consul\nconnectInject:\n  transparentProxy:\n    defaultEnabled: false\n').connectInject.transparentProxy.defaultEnabled, false);
});

test('meshgate k8s manifests --values FILE prints YAML; a bad file exits 1 naming the key', async () => {
  const dir = await tempDir('mg-manifests-');
  const file = join(dir, 'values.yaml');
  await writeFile(file, 'global:\n  name: demo\nsyncCatalog:\n  enabled: true\n  toK8S: false\n');
  const io = captureIO();
  assert.equal(await main(['k8s', 'manifests', '--values', file, '--namespace', 'mesh'], io), 0, io.stderr);
  const docs = parseAllDocuments(io.stdout).map((d) => d.toJS() as KubeObject);
  assert.ok(docs.some((d) => d.kind === 'Deployment' && d.metadata.name === 'demo-sync-catalog'));
  assert.ok(!docs.some((d) => d.metadata.name === 'demo-sync-catalog-to-k8s'), 'no write role when not syncing to Kubernetes');
  await writeFile(file, 'syncCatalog:\n  toK8s: true\n');
  const bad = captureIO();
  assert.equal(await main(['k8s', 'manifests', '--values', file], bad), 1);
  assert.match(bad.stderr, /unknown key: syncCatalog\.toK8s/);
});

test('the rendered manifests apply to the API server and read back', async () => {
  const ns = await cluster.namespace('manifests');
  // A name of its own, so a real cluster's other installations are not touched (CRDs are shared by name).
  const objects = await renderManifests(validateValues({ ...EVERYTHING, global: { ...EVERYTHING.global, name: `mg${ns.slice(-6)}` } }), { namespace: ns });
  for (const object of objects) {
    const { apiVersion, ...rest } = object;
    await cluster.put(apiVersion, resourceOf(object.kind), rest as never);
  }
  for (const object of objects) {
    const stored = await cluster.get(object.apiVersion, resourceOf(object.kind), object.metadata.namespace, object.metadata.name);
    assert.ok(stored, `${object.kind} ${object.metadata.name} stored`);
    assert.equal(stored.kind, object.kind);
  }
});

test('the Helm chart checked in is what the builders generate now (run `node scripts/helm-chart.ts` after changing them)', async () => {
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const generated = renderChart(version);
  for (const [file, text] of generated) {
    assert.equal(await readFile(join(REPO_ROOT, CHART_DIR, file), 'utf8').catch(() => '(missing)'), text, `${CHART_DIR}/${file} is stale`);
  }
  const templates = await readdir(join(REPO_ROOT, CHART_DIR, 'templates'));
  assert.deepEqual(templates.filter((f) => !generated.has(`templates/${f}`)), [], 'no template the builders do not make');
});

test('the chart, rendered with a set of values, makes the objects the command makes from them', async () => {
  // Helm is not installable here: go-template.ts renders the subset of Go templates the chart uses (and throws on
  // anything else), with stand-ins for genCA/genSignedCert whose output the command is given as its certificate.
  const chart = renderChart('0.0.0');
  const inputs = [
    {},
    EVERYTHING,
    { global: { name: 'mg', image: 'registry.example/meshgate:1.2', datacenter: 'eu1', acls: { manageSystemACLs: true } }, server: { replicas: 3, store: { backend: 'etcd', etcdEndpoints: 'http://etcd:2379' } },
      connectInject: { default: true, transparentProxy: { defaultEnabled: false }, k8sAllowNamespaces: ['shop', 'web'], k8sDenyNamespaces: ['legacy'] },
      syncCatalog: { enabled: true, toK8S: false, addK8SNamespaceSuffix: false, k8sTag: '1.0', consulPrefix: 'k8s-' }, ui: { enabled: false } },
    { connectInject: { enabled: false }, server: { enabled: false } },
  ];
  for (const input of inputs) {
    const values = validateValues(input);
    const fromChart = [...chart].filter(([file]) => file.startsWith('templates/')).flatMap(([file, source]) => {
      const rendered = renderTemplate(source, values, 'mesh');
      try {
        return parseAllDocuments(rendered).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
      } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}\n${rendered}`, { cause: err });
      }
    });
    const fromCommand = await renderManifests(values, { namespace: 'mesh', tls: fakeWebhookTls(`${values.global.name}-connect-injector`, 'mesh') });
    assert.ok(fromCommand.length > 0 || input === inputs[3]);
    assert.deepEqual(fromChart, fromCommand, `values ${JSON.stringify(input)}`);
  }
  // The comparison can fail: a value the chart does not substitute shows.
  const broken = (chart.get('templates/server.yaml') ?? '').replace('{{ .Values.server.replicas | toJson }}', '1');
  const rendered = parseAllDocuments(renderTemplate(broken, validateValues({ server: { replicas: 3, store: { backend: 'etcd', etcdEndpoints: 'http://e:2379' } } }), 'mesh')).map((d) => d.toJS());
  assert.equal(rendered.find((o: any) => o?.kind === 'StatefulSet').spec.replicas, 1);
});
