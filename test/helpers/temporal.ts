/** A real Temporal dev server for tests, from the same CLI binary the product uses. */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { findTemporalCli } from '../../src/stack/temporal-cli';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/definitions';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Tools the tests install (the Temporal CLI) live here, shared by every test file. */
export const TOOLS_DIR = path.join(REPO_ROOT, '.cache', 'tools');

let runtimeInstalled = false;

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const cli = await findTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, toolsDir: TOOLS_DIR });
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      extraArgs: ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF', '--log-level', 'error'],
    },
  });
}
