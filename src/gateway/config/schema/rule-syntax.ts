/**
 * Traefik's rule syntax keys: a router's `ruleSyntax` (http and tcp) and the static `core.defaultRuleSyntax`
 * (pkg/config/static: "v3" by default, "v2" accepted with a deprecation warning, anything else refused by
 * ValidateConfiguration as "unsupported default rule syntax configuration"). Traefik reads an unknown per-router value
 * as v3 without a word; Meshgate refuses it, naming the key, since it is always a typo.
 */
import { z } from 'zod';

export const RULE_SYNTAXES = ['v2', 'v3'] as const;

export const ruleSyntaxSchema = z.enum(RULE_SYNTAXES, { message: 'must be "v2" or "v3" (the rule syntax of Traefik v2 or v3)' });

export const coreSchema = z
  .object({
    defaultRuleSyntax: z.enum(RULE_SYNTAXES, { message: 'unsupported default rule syntax configuration: expected "v2" or "v3"' }).default('v3'),
  })
  .strict();
