/**
 * The Python side of the import tests: scikit-learn, skl2onnx, LightGBM and onnxmltools (and PyTorch
 * when it installs) from PyPI, at the versions examples/export/requirements*.txt pin, installed on
 * first use under .cache/tools/onnx-export like the other test tools; then
 * examples/export/export_models.py trains and exports the models into a temporary folder. No model
 * file is committed: each run makes its own from the bundled datasets.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const EXPORT_DIR = path.join(REPO_ROOT, 'examples', 'export');
const TOOLS_DIR = path.join(REPO_ROOT, '.cache', 'tools', 'onnx-export');
const PIP_TIMEOUT_MS = 20 * 60_000;

/** One model the script exported and what its own framework predicted for the evaluation rows. */
export interface ExportedModel {
  name: string;
  file: string;
  framework: string;
  /** The evaluation CSV, in the output folder. */
  data: string;
  target: string;
  task: 'binary' | 'multiclass' | 'regression';
  features?: Record<string, string[]>;
  classes?: string[];
  labels?: string[];
  probabilities?: number[][];
  values?: number[];
}

export interface Export {
  dir: string;
  versions: Record<string, string>;
  models: ExportedModel[];
  skipped: { name: string; reason: string }[];
  /** What installing took on this run (0 when the cache had it). */
  installSeconds: { base: number; torch: number };
  /** Why PyTorch is not there, when it is not. */
  torchMissing?: string;
}

/**
 * Installs a requirements file into its own folder once per version of the file; a failure is
 * remembered for that version too, so a machine where a package cannot be had does not retry on
 * every run.
 */
async function installOnce(name: string, requirements: string, extraArgs: string[]): Promise<{ dir: string; seconds: number } | { failed: string }> {
  const digest = createHash('sha256').update(fs.readFileSync(requirements)).digest('hex').slice(0, 16);
  const dir = path.join(TOOLS_DIR, `${name}-${digest}`);
  const failure = `${dir}.failed`;
  if (fs.existsSync(path.join(dir, '.complete'))) return { dir, seconds: 0 };
  if (fs.existsSync(failure)) return { failed: fs.readFileSync(failure, 'utf8') };
  const scratch = `${dir}.partial-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const started = Date.now();
  try {
    await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-conflicts', '--no-cache-dir', '--target', scratch, ...extraArgs, '-r', requirements], { timeout: PIP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    fs.rmSync(scratch, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    const why = (e.stderr || e.message).split('\n').filter((l) => /error/i.test(l)).slice(0, 3).join(' ') || e.message.split('\n')[0];
    fs.writeFileSync(failure, `pip could not install ${path.basename(requirements)}: ${why}`);
    return { failed: fs.readFileSync(failure, 'utf8') };
  }
  fs.writeFileSync(path.join(scratch, '.complete'), new Date().toISOString());
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(scratch, dir);
  return { dir, seconds: (Date.now() - started) / 1000 };
}

/** The folder holding the base packages (scikit-learn, skl2onnx, LightGBM, onnxmltools), for PYTHONPATH; installed once. */
export async function basePythonPackages(): Promise<string> {
  const base = await installOnce('base', path.join(EXPORT_DIR, 'requirements.txt'), []);
  if ('failed' in base) throw new Error(base.failed);
  return base.dir;
}

/**
 * Installs the Python packages (cached) and runs the export script into a new temporary folder. Set
 * MLOPS_TEST_TORCH=0 to leave PyTorch out (its Linux wheel brings some 4 GB of CUDA libraries).
 */
export async function exportModels(): Promise<Export> {
  const base = await installOnce('base', path.join(EXPORT_DIR, 'requirements.txt'), []);
  if ('failed' in base) throw new Error(base.failed);
  let torchMissing: string | undefined;
  let torchSeconds = 0;
  const pythonPath = [base.dir];
  if (process.env.MLOPS_TEST_TORCH === '0') {
    torchMissing = 'MLOPS_TEST_TORCH=0 leaves PyTorch out';
  } else {
    const torch = await installOnce('torch', path.join(EXPORT_DIR, 'requirements-torch.txt'), []);
    if ('failed' in torch) torchMissing = torch.failed;
    else { pythonPath.push(torch.dir); torchSeconds = torch.seconds; }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-export-'));
  try {
    await run('python3', [path.join(EXPORT_DIR, 'export_models.py'), dir], {
      timeout: 10 * 60_000,
      env: { ...process.env, PYTHONPATH: pythonPath.join(path.delimiter), PYTHONDONTWRITEBYTECODE: '1', PYTHONHASHSEED: '0' },
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`export_models.py failed: ${(e.stderr || e.message).split('\n').slice(-8).join('\n')}`);
  }
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Omit<Export, 'dir' | 'installSeconds' | 'torchMissing'>;
  return { dir, ...expected, installSeconds: { base: base.seconds, torch: torchSeconds }, torchMissing };
}
