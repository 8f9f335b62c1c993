/** `mlops worker` as its own process, the way a deployment runs it, for tests that kill workers. */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './temporal';

/** Starts a worker with these settings; its output is printed only if it exits with an error. */
export function startWorkerProcess(name: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), 'worker'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  child.on('exit', (code, signal) => { if (code) process.stderr.write(`[${name}] exited ${code} ${signal ?? ''}\n${output}\n`); });
  return child;
}
