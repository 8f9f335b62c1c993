/** A real Temporal dev server for tests, from the same CLI binary the product uses. */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TelemetryOptions } from '@temporalio/worker';
import pino from 'pino';
import { createLogger } from '../../src/logging/logger';
import { installTemporalLogging } from '../../src/logging/temporal-logger';
import { findTemporalCli } from '../../src/stack/temporal-cli';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/definitions';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Tools the tests install (the Temporal CLI) live here, shared by every test file. */
export const TOOLS_DIR = path.join(REPO_ROOT, '.cache', 'tools');

let runtimeInstalled = false;

/**
 * The process's one Temporal Runtime, as the CLI installs it; a test that wants the worker's metrics
 * (test/telemetry.test.ts) installs it with them before its first server.
 */
export function installRuntime(o: { telemetryOptions?: Pick<TelemetryOptions, 'metrics'> } = {}): void {
  if (runtimeInstalled) throw new Error('the Temporal Runtime is installed already: install it before the first startTemporal()');
  // the product's Temporal logging, on standard error at WARN: quiet unless something goes wrong
  installTemporalLogging(createLogger({ level: 'warn', secrets: [], stream: pino.destination(2) }), o.telemetryOptions);
  runtimeInstalled = true;
}

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) installRuntime();
  const cli = await findTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, toolsDir: TOOLS_DIR });
  // The SDK gives the server 5 s to listen; on a loaded 2-core machine that is sometimes too short.
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: cli },
          searchAttributes: SEARCH_ATTRIBUTE_KEYS,
          extraArgs: ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF', '--log-level', 'error'],
        },
      });
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test(String((err as Error).message))) throw err;
    }
  }
}
