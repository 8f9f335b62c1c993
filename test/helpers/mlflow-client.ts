/**
 * The official MLflow Python client for tests, installed from PyPI into .cache/tools on first use (like
 * the Temporal CLI and schemathesis): mlflow-skinny (the client without the server; `mlflow.onnx` and
 * `mlflow.sklearn` included), onnx and onnxruntime (which `mlflow.onnx.log_model` loads), and what the client script needs to make a small model (pandas,
 * which mlflow.onnx imports, scikit-learn and skl2onnx). Pinned, so a new release cannot change what
 * the compatibility test checks without a commit saying so. A first install takes about 90 s.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TOOLS_DIR } from './temporal';

const run = promisify(execFile);

export const MLFLOW_VERSION = '3.18.0';
export const MLFLOW_PACKAGES = [
  `mlflow-skinny==${MLFLOW_VERSION}`,
  'onnx==1.23.2',
  // mlflow.onnx.save_model checks its session options with onnxruntime; the version the server runs (onnxruntime-node)
  'onnxruntime==1.30.0',
  'numpy==2.4.6',
  'pandas==3.1.1',
  'scikit-learn==1.9.1',
  'skl2onnx==1.20.0',
];

export interface PythonWithMlflow {
  python: string;
  /** Environment that lets python3 find the packages installed under the tools folder. */
  env: Record<string, string>;
}

export async function findMlflowClient(): Promise<PythonWithMlflow> {
  const target = path.join(TOOLS_DIR, `mlflow-${MLFLOW_VERSION}`);
  const marker = path.join(target, '.installed');
  if (!fs.existsSync(marker) || fs.readFileSync(marker, 'utf8') !== MLFLOW_PACKAGES.join('\n')) {
    // installed beside the target and renamed into place, so a killed install leaves no half folder behind
    const partial = `${target}.partial-${process.pid}`;
    fs.rmSync(partial, { recursive: true, force: true });
    try {
      await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-conflicts', '--target', partial, ...MLFLOW_PACKAGES], { timeout: 900_000 });
    } catch (err) {
      fs.rmSync(partial, { recursive: true, force: true });
      throw new Error(`installing the MLflow client (${MLFLOW_PACKAGES.join(' ')}) with pip failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
    fs.writeFileSync(path.join(partial, '.installed'), MLFLOW_PACKAGES.join('\n'));
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(partial, target);
  }
  // no telemetry, no git lookups of the calling script's folder: the test talks to our server only
  return { python: 'python3', env: { PYTHONPATH: target, PYTHONDONTWRITEBYTECODE: '1', MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true', GIT_PYTHON_REFRESH: 'quiet' } };
}
