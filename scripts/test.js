#!/usr/bin/env node
// Runs every test file with node's test runner (TypeScript through tsx), one file at a time on this
// 2-core budget; extra arguments select files. The runner's summary lines end the output.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const picked = process.argv.slice(2);
const files = picked.length > 0 ? picked : fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join('test', f));
// A test may take 10 minutes at most, the whole run 45: a hang fails the run instead of stalling CI.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  timeout: 45 * 60 * 1000,
  killSignal: 'SIGKILL',
});
if (result.error) console.error(`the test run was stopped: ${result.error.message}`);
process.exit(result.status ?? 1);
