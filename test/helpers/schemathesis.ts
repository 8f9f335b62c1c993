/**
 * Schemathesis (property-based API testing from an OpenAPI document), installed from PyPI into
 * .cache/tools/schemathesis on first use, like the Temporal CLI. Pinned, so a new release cannot
 * change what the fuzz test checks without a commit saying so.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TOOLS_DIR } from './temporal';

const run = promisify(execFile);
export const SCHEMATHESIS_VERSION = '4.32.5';

export interface Schemathesis {
  /** argv to run `st` with (python3 and the entry script). */
  command: string[];
  /** Environment that lets python3 find the packages installed under the tools folder. */
  env: Record<string, string>;
}

export async function findSchemathesis(): Promise<Schemathesis> {
  const target = path.join(TOOLS_DIR, 'schemathesis');
  const marker = path.join(target, `schemathesis-${SCHEMATHESIS_VERSION}.dist-info`);
  if (!fs.existsSync(marker)) {
    try {
      await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--upgrade', '--target', target, `schemathesis==${SCHEMATHESIS_VERSION}`], { timeout: 600_000 });
    } catch (err) {
      throw new Error(`installing schemathesis ${SCHEMATHESIS_VERSION} with pip failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
  }
  const entry = path.join(target, 'bin', 'st');
  if (!fs.existsSync(entry)) throw new Error(`pip installed schemathesis but ${entry} is missing`);
  // the entry script's shebang names the python that installed it; running it through python3 keeps
  // working if that interpreter moves
  return { command: ['python3', entry], env: { PYTHONPATH: target, PYTHONDONTWRITEBYTECODE: '1' } };
}
