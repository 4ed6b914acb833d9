/**
 * `meshgate k8s manifests --values FILE` — prints (or writes with --output) the YAML that installs Meshgate into a
 * cluster: CRDs, server, connect injector with its webhook and certificate, CRD controller, catalog sync, ACL
 * bootstrap Job, RBAC and the UI Service, from values shaped like consul-k8s's Helm values. Without --values, the
 * defaults. `kubectl apply -f -` takes the output as it is.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { CliErrors, info, type CliIO } from '../../io.ts';

interface Flags {
  values?: string;
  namespace: string;
  output?: string;
}

export function k8sManifestsCommand(io: CliIO): Command {
  return new Command('manifests')
    .description('Renders the Kubernetes manifests that install Meshgate, from a values file shaped like consul-k8s\'s Helm values')
    .option('--values <file>', 'values file (YAML or JSON); unknown keys are errors')
    .option('--namespace <ns>', 'namespace the components are installed in', 'default')
    .option('--output <file>', 'write the YAML to this file instead of standard output')
    .action(async (flags: Flags) => {
      const { parseValues, validateValues } = await import('../../../kubernetes/manifests/values.ts');
      const { renderManifests, toYamlStream } = await import('../../../kubernetes/manifests/render.ts');
      let text: string | undefined;
      if (flags.values) {
        try {
          text = await readFile(flags.values, 'utf8');
        } catch (err) {
          throw CliErrors.failed(`Error reading values file: ${(err as Error).message}`);
        }
      }
      const values = text === undefined ? validateValues({}) : parseValues(text);
      const yaml = toYamlStream(await renderManifests(values, { namespace: flags.namespace }));
      if (flags.output) {
        await writeFile(flags.output, yaml);
        info(io, `==> Wrote ${flags.output}`);
      } else io.out(yaml);
    });
}
