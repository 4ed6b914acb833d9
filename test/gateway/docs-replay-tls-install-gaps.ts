/**
 * The install-configuration TLS pages' snippets (fixtures/traefik-docs/manifest.json) that Meshgate refuses today,
 * and the fragments the refusal must name: docs-replay.test.ts loads every snippet against this table, and
 * docs-replay-tls-install.test.ts checks the rest on a running gateway. Kept apart from docs-replay.test.ts's own
 * table so each replay file owns its lines.
 */
export const TLS_INSTALL_GAPS: Record<string, string[]> = {
  // The page's External Account Binding fragment (`# ...` stands for the rest) names no challenge. Traefik loads it
  // and fails at the first certificate (provider.go getClient: "ACME challenge not specified"); Meshgate refuses
  // the resolver when the file is loaded (gateway/acme/schema.ts), with the same words. Completed with the page's
  // configuration example, its kid and hmacEncoded bind the account: docs-replay-tls-install-eab.test.ts.
  'acme.07.yaml': ['certificatesResolvers.myresolver.acme: ACME challenge not specified'],
  'acme.08.toml': ['certificatesResolvers.myresolver.acme: ACME challenge not specified'],
};
