// Lint for bugs, not taste: every rule here catches a class of defect that type-checking lets through
// (unhandled promises, awaited non-promises, unreachable or always-true conditions, silent catches, thrown
// non-errors, fall-through, prototype pollution through maps). Formatting is left to the editor.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'src/ui/dist/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Core JavaScript mistakes.
      ...js.configs.recommended.rules,
      'no-undef': 'off', // TypeScript resolves names; this rule does not know type-only globals.
      'no-unused-vars': 'off',
      'no-redeclare': 'off',
      'no-dupe-class-members': 'off',
      'no-empty': ['error', { allowEmptyCatch: false }],
      'no-self-compare': 'error',
      'no-constant-binary-expression': 'error',
      // Off: it cannot see a flag flipped by another async task (`while (!stop) await …`), the shape of every load loop here.
      'no-unmodified-loop-condition': 'off',
      // Off: `for (const _ in o) return false` is the allocation-free emptiness test on hot paths.
      'no-unreachable-loop': 'off',
      'no-unused-private-class-members': 'error',
      'no-useless-catch': 'error',
      eqeqeq: ['error', 'smart'],
      'max-len': ['error', { code: 180, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreComments: false }],
      // Promises: the source of most silent failures in a Node server.
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's test()/describe() return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/only-throw-error': ['error', { allowRethrowing: true }],
      // Types that lie.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-base-to-string': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-array-delete': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/no-duplicate-enum-values': 'error',
      '@typescript-eslint/no-duplicate-type-constituents': 'error',
      '@typescript-eslint/no-unsafe-declaration-merging': 'error',
      '@typescript-eslint/no-wrapper-object-types': 'error',
    },
  },
);
