/**
 * The error catalogue stays true: every code declared or thrown in src/ is listed in docs/errors.md, every code
 * listed there still exists, and every code follows one style. Modelled on fastify's test/internals/errors.test.js,
 * which checks lib/errors.js against docs/Reference/Errors.md in both directions.
 *
 * Codes are found with the TypeScript parser, not a regex over the text, so comments and examples in doc
 * comments do not count and a code written in any quoting style does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..', '..');
const STYLE = /^MG_[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

interface Finding {
  /** Codes that look like Meshgate codes (string literals starting with MG_), with where they occur. */
  codes: Map<string, string[]>;
  /** Codes given to defineError / MeshgateError in a style other than MG_UPPER_SNAKE. */
  badStyle: string[];
  /** Classes that extend Error directly instead of MeshgateError. */
  plainErrors: string[];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function isStringLike(node: ts.Node): node is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral {
  return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node);
}

/** The name a call is made through: `defineError(…)` → defineError, `new X.MeshgateError(…)` → MeshgateError. */
function calleeName(expr: ts.Expression): string | undefined {
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr)) return expr.name.text;
  if (expr.kind === ts.SyntaxKind.SuperKeyword) return 'super';
  return undefined;
}

function scan(files: ReadonlyArray<{ name: string; text: string }>): Finding {
  const finding: Finding = { codes: new Map(), badStyle: [], plainErrors: [] };
  for (const { name, text } of files) {
    const sf = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const where = (node: ts.Node) => `${name}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (isStringLike(node) && node.text.startsWith('MG_')) {
        // A prefix test (`code.startsWith('MG_CLI')`) names a family, not a code.
        const parent = node.parent;
        const isPrefixTest = ts.isCallExpression(parent) && ts.isPropertyAccessExpression(parent.expression)
          && parent.expression.name.text === 'startsWith';
        if (!isPrefixTest) {
          const list = finding.codes.get(node.text) ?? [];
          list.push(where(node));
          finding.codes.set(node.text, list);
          if (!STYLE.test(node.text)) finding.badStyle.push(`${node.text} (${where(node)})`);
        }
      }
      if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments && node.arguments.length > 0) {
        const callee = calleeName(node.expression);
        const first = node.arguments[0]!;
        if ((callee === 'defineError' || callee === 'MeshgateError') && isStringLike(first) && !STYLE.test(first.text)) {
          finding.badStyle.push(`${first.text} (${where(node)})`);
        }
      }
      if (ts.isClassDeclaration(node) && node.heritageClauses) {
        for (const clause of node.heritageClauses) {
          for (const type of clause.types) {
            if (clause.token === ts.SyntaxKind.ExtendsKeyword && ts.isIdentifier(type.expression) && type.expression.text === 'Error') {
              finding.plainErrors.push(`${node.name?.text ?? '(anonymous)'} (${where(node)})`);
            }
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return finding;
}

/** Codes documented in docs/errors.md: the first cell of a table row, in backticks. */
function documentedCodes(markdown: string): Map<string, number> {
  const codes = new Map<string, number>();
  markdown.split('\n').forEach((line, i) => {
    const m = /^\|\s*`(MG_[A-Za-z0-9_]+)`\s*\|/.exec(line);
    if (m) codes.set(m[1]!, i + 1);
  });
  return codes;
}

let scanned: Finding | undefined;
function scanSource(): Finding {
  scanned ??= scan(sourceFiles(join(root, 'src')).map((path) => ({ name: relative(root, path), text: readFileSync(path, 'utf8') })));
  return scanned;
}

const docs = documentedCodes(readFileSync(join(root, 'docs', 'errors.md'), 'utf8'));

test('every MG_ code in src/ is listed in docs/errors.md', () => {
  const { codes } = scanSource();
  assert.ok(codes.size > 40, `found only ${codes.size} codes in src/: the scanner is broken`);
  const missing = [...codes].filter(([code]) => !docs.has(code)).map(([code, at]) => `${code} (${at.join(', ')})`);
  assert.deepEqual(missing, [], 'add a row for each to its part\'s table in docs/errors.md');
});

test('every code in docs/errors.md still exists in src/', () => {
  const { codes } = scanSource();
  const stale = [...docs].filter(([code]) => !codes.has(code)).map(([code, line]) => `${code} (docs/errors.md:${line})`);
  assert.deepEqual(stale, []);
});

test('every code is MG_UPPER_SNAKE', () => {
  assert.deepEqual(scanSource().badStyle, []);
  assert.deepEqual([...docs.keys()].filter((c) => !STYLE.test(c)), []);
});

test('every error class in src/ extends MeshgateError, not Error', () => {
  // The base class itself is the one class allowed to extend Error.
  const unexpected = scanSource().plainErrors.filter((entry) => !entry.startsWith('MeshgateError (src/lib/errors.ts:'));
  assert.deepEqual(unexpected, []);
});

test('the scanner reports an undocumented code, a code in another style and a plain Error class', () => {
  // Proves the checks above are live: a synthetic file with each fault must be caught.
  const finding = scan([{
    name: 'src/x.ts',
    text: [
      "/** defineError('MG_IN_A_COMMENT', 400, () => '') is not a code. */",
      "export const A = defineError('MG_NOT_DOCUMENTED_ANYWHERE', 400, () => 'a');",
      "export const B = defineError('mg_lower_case', 400, () => 'b');",
      "const isCli = (c: string) => c.startsWith('MG_CLI');",
      'export class Oops extends Error {}',
    ].join('\n'),
  }]);
  assert.deepEqual([...finding.codes.keys()], ['MG_NOT_DOCUMENTED_ANYWHERE']);
  assert.ok(!docs.has('MG_NOT_DOCUMENTED_ANYWHERE'));
  assert.deepEqual(finding.badStyle, ['mg_lower_case (src/x.ts:3)']);
  assert.deepEqual(finding.plainErrors, ['Oops (src/x.ts:5)']);
  assert.deepEqual([...documentedCodes('| `MG_A_B` | 400 | x |\n| code | status |\n').keys()], ['MG_A_B']);
});
