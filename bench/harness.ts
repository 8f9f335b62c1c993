/**
 * What the serving benchmarks share: child processes in their own groups with their output in log files,
 * free ports, CPU time from /proc, percentiles.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..');
const CLK_TCK = 100;

/** The model both serving benchmarks train and call: the 30-feature breast-cancer data the repo ships. */
export const CSV = path.join(ROOT, 'datasets', 'breast-cancer-wisconsin.csv');
export const TARGET = 'diagnosis';
export const MODEL = 'cancer';

export type Instance = Record<string, number>;

export function readDataset(): { features: string[]; instances: Instance[] } {
  const lines = fs.readFileSync(CSV, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const features = header.filter((h) => h !== TARGET);
  const instances = lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row: Instance = {};
    header.forEach((h, j) => { if (h !== TARGET) row[h] = Number(cells[j]); });
    return row;
  });
  return { features, instances };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const log = (line: string) => process.stdout.write(`${line}\n`);

export interface Child { name: string; proc: ChildProcess; exited: Promise<number | null>; stop(): Promise<void> }

const children = new Set<Child>();

/** Starts a process in its own process group with its output in a log file (in `cwd`, default this checkout). */
export function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, stopSignal: NodeJS.Signals, cwd = ROOT): Child {
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(command, args, { cwd, env, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const child: Child = {
    name, proc, exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(stopSignal);
        const done = await Promise.race([exited.then(() => true), sleep(60_000).then(() => false)]);
        if (!done) {
          log(`  ${name} did not stop within 60 s of ${stopSignal}; killing its process group`);
          try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* gone */ }
          await exited;
        }
      }
      // whatever it started and left behind in its group (uvicorn under mlflow, say)
      try { process.kill(-proc.pid!, 'SIGTERM'); } catch { /* none left */ }
      children.delete(child);
    },
  };
  children.add(child);
  return child;
}

export async function stopAll(): Promise<void> {
  for (const c of [...children].reverse()) await c.stop().catch(() => undefined);
}

/** Polls a URL until it answers 200; fails early if the process exits. */
export async function waitForHttp(url: string, child: Child, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => { exited = true; });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited before answering ${url}; its log (${logFile}) ends:\n${tail(logFile)}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(250);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs / 1000} s; its log (${logFile}) ends:\n${tail(logFile)}`);
}

export function tail(file: string, lines = 15): string {
  try { return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n'); } catch { return '(no log)'; }
}

/** Ports below the ephemeral range, free now. */
export async function freePorts(count: number): Promise<number[]> {
  const isFree = (port: number) => new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  const ports: number[] = [];
  for (let p = 12_000 + (process.pid % 4_000) * 4; ports.length < count; p++) {
    if (p >= 32_000) p = 12_000;
    if (await isFree(p)) ports.push(p);
  }
  return ports;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Share of all cores busy between two readings (0..1). */
export const machineBusy = (a: { busy: number; total: number }, b: { busy: number; total: number }) => (b.busy - a.busy) / Math.max(1, b.total - a.total);

/**
 * CPU time (s) of a process and all its descendants, from /proc. With `reaped`, also what descendants that
 * have exited and been waited for used (cutime and cstime), so a short-lived child (a PostgreSQL backend
 * whose pooled connection closed, say) does not take its time with it when it goes.
 */
export function treeCpuSeconds(root: number, reaped = false): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0) });
    } catch { /* exited meanwhile */ }
  }
  let ticks = 0;
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) queue.push(child);
  }
  return ticks / CLK_TCK;
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function temporalCli(): string | undefined {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  const cached = path.join(ROOT, '.cache', 'tools', 'temporal', 'bin', 'temporal');
  return fs.existsSync(cached) ? cached : undefined;
}
