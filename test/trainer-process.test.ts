/**
 * A registered trainer runs as its own process group: these tests run real processes (sh, sleep) and
 * check the log, the tail, the exit code, and that a timeout or a cancellation leaves nothing running.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runTrainerProcess, TrainerProcess } from '../src/trainers/process-runner';

/** Running, not merely a zombie waiting for a parent (in a container, PID 1 may never reap it). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('trainer processes', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-trainer-process-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (script: string, o: Partial<TrainerProcess> = {}) => runTrainerProcess({
    command: ['sh', '-c', script], cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 10_000, logFile: path.join(dir, `log-${Math.random()}`), ...o,
  });

  it('streams every line to the log, keeps the last ones, and reports the exit code', async () => {
    const logFile = path.join(dir, 'ok.log');
    const outcome = await run('for i in $(seq 1 30); do echo "line $i"; done; echo oops >&2; exit 3', { logFile });
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.kind === 'exited' && outcome.code, 3);
    assert.equal(outcome.tail.length, 20);
    assert.equal(outcome.tail.at(-1), 'oops');
    const log = fs.readFileSync(logFile, 'utf8');
    assert.match(log, /^line 1\n/);
    assert.match(log, /line 30\noops\n$/);
  });

  it('passes only the environment it is given', async () => {
    const logFile = path.join(dir, 'env.log');
    await run('echo "in=$MLOPS_INPUT_DIR secret=${DATABASE_URL:-none}"', { logFile, env: { PATH: process.env.PATH!, MLOPS_INPUT_DIR: '/in' } });
    assert.equal(fs.readFileSync(logFile, 'utf8'), 'in=/in secret=none\n');
  });

  it('stops the whole group at its timeout, children included', async () => {
    const logFile = path.join(dir, 'hang.log');
    const outcome = await run('sleep 300 & echo "child $!"; sleep 300', { logFile, timeoutMs: 500 });
    assert.equal(outcome.kind, 'timed_out');
    const child = Number(/child (\d+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1]);
    assert.ok(child > 0);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(alive(child), false, 'the trainer\'s child was stopped with it');
  });

  it('stops the group when the activity is cancelled, and kills what ignores SIGTERM', async () => {
    const abort = new AbortController();
    const logFile = path.join(dir, 'cancel.log');
    setTimeout(() => abort.abort(), 300);
    const started = Date.now();
    const outcome = await run("trap '' TERM; echo ready; while true; do sleep 0.1; done", { logFile, signal: abort.signal });
    assert.equal(outcome.kind, 'cancelled');
    assert.ok(Date.now() - started < 8_000, 'SIGKILL followed the ignored SIGTERM');
  });

  it('does not leave a child that outlives a trainer which exited', async () => {
    const logFile = path.join(dir, 'orphan.log');
    const outcome = await run('sleep 300 & echo "child $!"; exit 0', { logFile });
    assert.equal(outcome.kind, 'exited');
    const child = Number(/child (\d+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(alive(child), false);
  });

  it('says so when the program does not exist', async () => {
    const outcome = await runTrainerProcess({ command: ['/nonexistent/python'], cwd: dir, env: {}, timeoutMs: 5_000, logFile: path.join(dir, 'missing.log') });
    assert.equal(outcome.kind, 'not_started');
    assert.match(outcome.kind === 'not_started' ? outcome.reason : '', /ENOENT/);
  });

  it('reports progress with the latest lines while the trainer runs', async () => {
    const seen: string[][] = [];
    await run('for i in 1 2 3 4 5; do echo "epoch $i"; sleep 0.1; done', { onProgress: (t) => seen.push(t), progressEveryMs: 50 });
    assert.ok(seen.length >= 3, `only ${seen.length} progress reports`);
    assert.ok(seen.at(-1)!.at(-1)!.startsWith('epoch'));
  });
});
