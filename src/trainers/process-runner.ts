/**
 * Runs a registered trainer's command as its own process group: output streams to a log file and the
 * last lines are kept for heartbeats and errors; a timeout or a cancellation stops the whole group
 * (the trainer's own children too), first politely, then for good.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface TrainerProcess {
  /** The program and its arguments, as the admin registered them: never a shell line. */
  command: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Where stdout and stderr go, interleaved as they arrive. */
  logFile: string;
  /** Called at most every `progressEveryMs` with the latest lines, for heartbeats. */
  onProgress?: (tail: string[]) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
}

export type ProcessOutcome =
  | { kind: 'exited'; code: number; tail: string[]; ms: number }
  | { kind: 'timed_out'; tail: string[]; ms: number }
  | { kind: 'cancelled'; tail: string[]; ms: number }
  | { kind: 'not_started'; reason: string; tail: string[]; ms: number };

/** Lines of output kept for heartbeats and error messages. */
export const TAIL_LINES = 20;
/** How long a stopped group gets to exit after SIGTERM before SIGKILL. */
export const GRACE_MS = 3_000;

/** The last lines of a stream of text chunks; a line longer than 1,000 characters is cut. */
class Tail {
  private lines: string[] = [];
  private partial = '';
  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.lines.push(line.slice(0, 1000));
    if (this.lines.length > TAIL_LINES) this.lines = this.lines.slice(-TAIL_LINES);
  }
  get(): string[] {
    return this.partial ? [...this.lines, this.partial.slice(0, 1000)].slice(-TAIL_LINES) : [...this.lines];
  }
}

export async function runTrainerProcess(p: TrainerProcess): Promise<ProcessOutcome> {
  const started = Date.now();
  const tail = new Tail();
  const log = createWriteStream(p.logFile);
  const [program, ...args] = p.command;
  // detached: the child leads a new process group, so one signal to -pid reaches everything it started
  const child = spawn(program, args, { cwd: p.cwd, env: p.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // listened for from the start: 'close' follows 'exit' once every pipe has ended
  const closed = once(child, 'close').catch(() => undefined);
  let stopping: 'timed_out' | 'cancelled' | undefined;
  const stopGroup = (why: 'timed_out' | 'cancelled') => {
    if (stopping || child.pid === undefined) return;
    stopping = why;
    const kill = (signal: NodeJS.Signals) => { try { process.kill(-child.pid!, signal); } catch { /* the group is gone */ } };
    kill('SIGTERM');
    setTimeout(() => kill('SIGKILL'), GRACE_MS).unref();
  };
  const timer = setTimeout(() => stopGroup('timed_out'), p.timeoutMs);
  const onAbort = () => stopGroup('cancelled');
  p.signal?.addEventListener('abort', onAbort);
  if (p.signal?.aborted) onAbort();
  let lastProgress = 0;
  const onChunk = (chunk: Buffer) => {
    log.write(chunk);
    tail.push(chunk.toString('utf8'));
    const now = Date.now();
    if (p.onProgress && now - lastProgress >= (p.progressEveryMs ?? 1000)) {
      lastProgress = now;
      p.onProgress(tail.get());
    }
  };
  child.stdout.on('data', onChunk);
  child.stderr.on('data', onChunk);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    // what the trainer started and left running (it may hold the output pipes open) goes with it
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* the group is gone */ }
    await closed;
    const ms = Date.now() - started;
    if (stopping) return { kind: stopping, tail: tail.get(), ms };
    return { kind: 'exited', code: code ?? (signal ? 128 : 1), tail: tail.get(), ms };
  } catch (err) {
    return { kind: 'not_started', reason: (err as Error).message, tail: tail.get(), ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    p.signal?.removeEventListener('abort', onAbort);
    log.end();
    await once(log, 'close').catch(() => undefined);
  }
}
