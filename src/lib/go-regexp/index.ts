/** Go-compatible (RE2) regular expressions and replacement templates: see README.md. */
export { compileGoRegexp, GoRegexp, type GoRegexpOptions } from './regexp.ts';
export { compileGoTemplate, type GoSubmatch, type GoTemplate } from './template.ts';
export { ErrRegexpSyntax, syntaxErrorOffset } from './errors.ts';
export { quoteMeta } from './quote-meta.ts';
