/** The `mlops` command as a test runs it against an API in its own process. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './temporal';

export interface CliResult { status: number | null; stdout: string; stderr: string }

/**
 * Runs `mlops` asynchronously (the API lives in the test's process and must keep answering while the
 * command waits), with the given key, and without the test runner's own variables.
 */
export function mlopsCli(apiUrl: string, key: string): (...args: string[]) => Promise<CliResult> {
  const { NODE_TEST_CONTEXT: _runner, ...env } = process.env;
  return (...args) => new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), ...args], { cwd: REPO_ROOT, env: { ...env, MLOPS_API_URL: apiUrl, MLOPS_API_KEY: key }, encoding: 'utf8', timeout: 120_000 },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
}
