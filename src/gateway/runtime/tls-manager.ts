/**
 * The TLS manager of one build (Traefik's pkg/tls manager, as the router manager uses it): resolves the TLS option
 * set each TLS router asks for, collects the hosts its `Host` rules name, and maps every host on every entry point
 * to one option set — routers that disagree on a host get a warning and the host falls back to `default`, as
 * Traefik does. Certificates and contexts come from `TlsConfiguration`, reusing the previous build's contexts.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig, RouterTlsConfig } from '../config/dynamic.ts';
import { qualifyName } from '../config/merge.ts';
import { DEFAULT_TLS_OPTIONS, TlsConfiguration } from '../entrypoints/tls-configuration.ts';
import { parseRuleEitherSyntax, positiveHosts, type RuleNode } from '../rules/index.ts';
import { addError, type RuntimeInfo } from './info.ts';

interface TlsRouter {
  readonly name: string;
  readonly entryPoints: readonly string[];
  readonly options: string;
  readonly hosts: readonly string[];
}

export class TlsManager {
  readonly tls: TlsConfiguration;
  readonly #logger: Logger;
  readonly #routers: TlsRouter[] = [];

  constructor(config: DynamicConfig['tls'], logger: Logger, previous?: TlsConfiguration) {
    this.#logger = logger;
    this.tls = new TlsConfiguration(config, previous);
    for (const problem of this.tls.problems) logger.error({ tls: problem }, 'TLS configuration problem');
    for (const [name, message] of this.tls.optionErrors()) logger.error({ tlsOptions: name, err: message }, `TLS options ${name} are invalid; routers using them are disabled`);
  }

  /**
   * The option set a router's `tls` block selects — Traefik: `default` is never qualified, any other name resolves
   * within the router's provider — or the error that disables the router.
   */
  optionsFor(tls: RouterTlsConfig, provider: string): { options: string } | { error: string } {
    const wanted = tls.options;
    const options = !wanted || wanted === DEFAULT_TLS_OPTIONS ? DEFAULT_TLS_OPTIONS : qualifyName(wanted, provider);
    const problem = this.tls.optionsError(options);
    return problem === undefined ? { options } : { error: problem };
  }

  /** Records a built TLS router: its hosts take `options` on its entry points. */
  addRouter(name: string, entryPoints: readonly string[], options: string, rule: string): void {
    this.#routers.push({ name, entryPoints, options, hosts: ruleHosts(rule) });
  }

  /** Maps hosts to option sets on each entry point, from the routers that ended up enabled. */
  assignHostOptions(info: RuntimeInfo): void {
    const byEntryPoint = new Map<string, Map<string, Map<string, string[]>>>();
    for (const r of this.#routers) {
      if (info.routers.get(r.name)?.status === 'disabled') continue;
      for (const ep of r.entryPoints) {
        let hosts = byEntryPoint.get(ep);
        if (hosts === undefined) byEntryPoint.set(ep, (hosts = new Map()));
        for (const host of r.hosts) {
          let options = hosts.get(host);
          if (options === undefined) hosts.set(host, (options = new Map()));
          let names = options.get(r.options);
          if (names === undefined) options.set(r.options, (names = []));
          names.push(r.name);
        }
      }
    }
    for (const [ep, hosts] of byEntryPoint) {
      const chosen = new Map<string, string>();
      for (const [host, options] of hosts) {
        if (options.size === 1) {
          chosen.set(host, options.keys().next().value!);
          continue;
        }
        const message = `found different TLS options for routers on the same host ${host}, so using the default TLS options instead`;
        this.#logger.warn({ entryPoint: ep, host, tlsOptions: [...options.keys()] }, message);
        for (const names of options.values()) for (const name of names) { const router = info.routers.get(name); if (router) addError(router, message, false); }
      }
      this.tls.setHostOptions(ep, chosen);
    }
  }
}

/** Host names a rule's positive `Host(...)` matchers name, lower-case: what TLS options map onto (Traefik's ParseDomains). */
export function ruleHosts(rule: string): string[] {
  let tree: RuleNode;
  try {
    tree = parseRuleEitherSyntax(rule);
  } catch {
    // The route compiler reports the rule's error on the router; it has no hosts to give TLS options to.
    return [];
  }
  return positiveHosts(tree);
}
