/**
 * Where the server's CPU went during each load phase of bench/serving.ts, from V8 CPU profiles:
 *
 *   SERVING_CPU_PROF=/tmp/serving-prof PYTHONPATH=/tmp/pyref-mlflow node --import tsx bench/serving.ts
 *   node --import tsx bench/serving_profile.ts /tmp/serving-prof [phase label prefix ...]
 *
 * serving.ts runs `mlops up` (and `mlops api`) under --cpu-prof and writes phases.json: each phase's
 * start and end on the monotonic clock the profiler stamps samples with. Per profile and phase this prints
 * the share of samples by component (package, source file, WebAssembly, GC, idle) and the functions with
 * the most inclusive time. Profiling slows the server; read the shares, not the rates.
 */
import fs from 'node:fs';
import path from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }
interface Phase { label: string; startUs: number; endUs: number }

function component(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || '(anonymous)'}`;
  if (url.startsWith('wasm://')) return 'WebAssembly (PGlite)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

const label = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${component(f)}${f.url && !f.url.startsWith('wasm') ? `:${f.lineNumber + 1}` : ''}`;

function summarise(profile: Profile, phase: Phase): string | undefined {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const inclusiveComponent = new Map<string, number>();
  // synchronous PGlite queries block this event loop: consecutive samples inside one are one stall
  const stalls: number[] = [];
  let stallStart: number | undefined;
  let previous = profile.startTime;
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < phase.startUs || t > phase.endUs) continue;
    total++;
    const leaf = byId.get(profile.samples[i])!;
    self.set(component(leaf.callFrame), (self.get(component(leaf.callFrame)) ?? 0) + 1);
    const seen = new Set<string>();
    const seenComponents = new Set<string>();
    let inPglite = false;
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (f.functionName === '(root)') continue;
      if (f.functionName === 'execProtocolRawSync') inPglite = true;
      const key = label(f);
      if (!seen.has(key)) { seen.add(key); inclusive.set(key, (inclusive.get(key) ?? 0) + 1); }
      const c = component(f);
      if (!seenComponents.has(c)) { seenComponents.add(c); inclusiveComponent.set(c, (inclusiveComponent.get(c) ?? 0) + 1); }
    }
    if (inPglite) stallStart ??= previous;
    else if (stallStart !== undefined) { stalls.push((previous - stallStart) / 1000); stallStart = undefined; }
    previous = t;
  }
  if (total < 10 || (self.get('(idle)') ?? 0) > 0.95 * total) return undefined; // an idle thread
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => `    ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  stalls.sort((a, b) => b - a);
  const seconds = (phase.endUs - phase.startUs) / 1e6;
  const pglite = stalls.length === 0 ? '   no synchronous PGlite query in this process'
    : `   synchronous PGlite queries (event loop blocked): ${stalls.length} (${(stalls.length / seconds).toFixed(0)}/s), ${stalls.filter((s) => s >= 5).length} of them >= 5 ms, longest ${stalls.slice(0, 5).map((s) => s.toFixed(1)).join(', ')} ms`;
  return [`  ${phase.label}: ${total} samples over ${seconds.toFixed(1)} s`, pglite, '   self time by component:', top(self, 18), '   inclusive time by component:', top(inclusiveComponent, 25), '   inclusive time by function:', top(inclusive, 30)].join('\n');
}

const dir = process.argv[2];
if (!dir) { process.stderr.write('usage: bench/serving_profile.ts <dir> [phase label prefix ...]\n'); process.exit(1); }
const wanted = process.argv.slice(3);
const phases = (JSON.parse(fs.readFileSync(path.join(dir, 'phases.json'), 'utf8')) as Phase[])
  .filter((p) => wanted.length === 0 || wanted.some((w) => p.label.startsWith(w)));
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Profile;
  const parts = phases.map((p) => summarise(profile, p)).filter((s): s is string => s !== undefined);
  if (parts.length === 0) continue;
  process.stdout.write(`${file} (${((profile.endTime - profile.startTime) / 1e6).toFixed(0)} s profiled)\n${parts.join('\n\n')}\n\n`);
}
