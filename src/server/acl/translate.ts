/**
 * Consul's legacy-rules translation (`POST /v1/acl/rules/translate`, acl/policy.go TranslateLegacyRules): before
 * Consul 1.4 a named rule (`key "app/" { … }`) matched by prefix; the same meaning in today's language is the
 * `*_prefix` form. Rules for `acl`, `operator` and `keyring` are unchanged. The result is parsed once more, so a
 * translation that is not a valid policy is refused naming the rule.
 */
import { parseRules } from './rules.ts';

const LEGACY = /^(\s*"?)(agent|event|key|node|query|service|session)("?\s*(?::\s*)?(?:"|\{))/gm;

export async function translateLegacyRules(text: string): Promise<string> {
  const translated = text.replace(LEGACY, (_m, lead: string, resource: string, rest: string) => `${lead}${resource}_prefix${rest}`);
  await parseRules(translated);
  return translated;
}
