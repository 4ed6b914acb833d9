/** Public surface of the rule language, as the gateway core uses it. */
export type { MatchRequest } from './request.ts';
export { routingPath } from './request.ts';
export type { RouteInput, CompiledRoutes } from './routes.ts';
export { compileRoutes, compileRoutesSliced, compileRoutesLinear, parseRule, defaultPriority, MAX_USER_PRIORITY } from './routes.ts';
export type { RuleNode, MatcherNode, MatcherName } from './parser.ts';
export { MATCHER_NAMES, matcherVocabulary, parseRuleSyntaxWith, type MatcherVocabulary } from './parser.ts';
export { RuleSyntaxError, RuleErrorCodes, type RuleErrorCode } from './errors.ts';
export { normalize, renderDefaultRule, parseDefaultRuleTemplate, type DefaultRuleTemplate } from './template.ts';
