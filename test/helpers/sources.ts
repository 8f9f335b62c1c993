/**
 * Source contexts for tests that read data directly: the repository and the system's temporary folder
 * as data roots (tests write their files there), loopback allowed only when a test says so.
 */
import os from 'node:os';
import path from 'node:path';
import type { SourceContext } from '../../src/ingest/sources';
import { sourcePolicy } from '../../src/ingest/source-policy';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Data roots every test stack uses: the repository (fixtures, datasets) and the temporary folder. */
export const TEST_DATA_ROOTS = [REPO_ROOT, os.tmpdir()];

export function testSources(o: { urlAllow?: string[]; dataDir?: string; connections?: Record<string, string> } = {}): SourceContext {
  return {
    policy: sourcePolicy({ dataRoots: TEST_DATA_ROOTS, dataDir: o.dataDir ?? path.join(os.tmpdir(), 'mlops-no-data-dir'), urlAllow: o.urlAllow ?? [] }),
    connectionUrl: async (name) => o.connections?.[name],
  };
}
