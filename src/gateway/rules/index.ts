/** Public surface of the rule language, as the gateway core uses it. */
export type { MatchRequest } from './request.ts';
export { routingPath } from './request.ts';
export type { RouteInput, CompiledRoutes, RuleSyntax } from './routes.ts';
export { compileRoutes, compileRoutesSliced, compileRoutesLinear, parseRule, MAX_USER_PRIORITY } from './routes.ts';
export { defaultPriority, positiveHosts, doubleWildcardPenalty } from './priority.ts';
export type { RuleNode, MatcherNode, MatcherName } from './parser.ts';
export { MATCHER_NAMES, matcherVocabulary, parseRuleSyntaxWith, type MatcherVocabulary } from './parser.ts';
export { V2_MATCHER_NAMES, parseRuleEitherSyntax } from './matchers-v2.ts';
export { RuleSyntaxError, RuleErrorCodes, type RuleErrorCode } from './errors.ts';
export { normalize, renderDefaultRule, parseDefaultRuleTemplate, type DefaultRuleTemplate } from './template.ts';
export { compileMuxTemplate, isProblem, type MuxTemplateKind, type MuxTemplateProblem } from './mux-template.ts';
export { combineMatchers } from './matchers.ts';
