// The linting packages, resolved from tools/lint/node_modules for the root eslint.config.mjs: they
// are installed here, apart from the root (package.json beside this file says why).
export { default as js } from '@eslint/js';
export { default as tseslint } from 'typescript-eslint';
export { default as globals } from 'globals';
