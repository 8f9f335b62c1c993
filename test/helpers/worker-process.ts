/** `mlops worker` and `mlops api` as processes of their own, the way a deployment runs them, for tests that kill them. */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './temporal';

/**
 * Starts `mlops <command>` with these settings; its output is printed only if it exits with an error, and
 * appended to `logFile` as it comes when one is given.
 */
export function startMlopsProcess(command: 'worker' | 'api', name: string, env: Record<string, string>, o: { logFile?: string } = {}): ChildProcess {
  // the test runner's marker would make a child that imports node:test report to it
  const { NODE_TEST_CONTEXT: _runner, ...parentEnv } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), command], {
    cwd: REPO_ROOT,
    env: { ...parentEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  child.stdout!.on('data', (d) => { output += d; log?.write(d); });
  child.stderr!.on('data', (d) => { output += d; log?.write(d); });
  child.on('close', () => log?.end());
  child.on('exit', (code, signal) => { if (code) process.stderr.write(`[${name}] exited ${code} ${signal ?? ''}\n${output}\n`); });
  return child;
}

/** Starts a worker with these settings; its output is printed only if it exits with an error. */
export function startWorkerProcess(name: string, env: Record<string, string>): ChildProcess {
  return startMlopsProcess('worker', name, env);
}
