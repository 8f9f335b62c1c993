/**
 * The container image, docker-compose.yml, the Kubernetes manifests and the GitHub workflows, checked
 * without Docker or a cluster (neither runs on the test machines), each against the schema or tool
 * that the real thing uses, with a deliberately broken copy per check so a check that accepts
 * everything fails here:
 * - Dockerfile: stages, instructions and the HEALTHCHECK command (run against a local HTTP server);
 *   onnxruntime-node's install script with .npmrc's skip flag, and the CPU binary it must still find.
 * - docker-compose.yml: the Compose Specification JSON schema (as shipped by the dclint package),
 *   every bind-mounted file, Prometheus's configuration (`promtool check config` on the files laid
 *   out as the compose mounts them), Alertmanager's (`amtool check-config`), Grafana provisioning.
 * - deploy/k8s: the strict Kubernetes JSON schemas of two Kubernetes releases (PyPI's
 *   kubernetes-validate, fetched by scripts/install-k8s-schemas.sh), references between objects,
 *   the restricted Pod Security Standard; the KEDA ScaledObject against the KEDA CRD's types
 *   (@kubernetes-models/keda) and the temporal scaler's documented trigger fields.
 * - .github/workflows: GitHub's own workflow parser (@actions/workflow-parser), and every npm script
 *   and `mlops` command and flag they run exists.
 * - Every environment variable given to the platform by the image, compose or Kubernetes is a
 *   setting of src/config.ts, and the values given pass loadConfig: a renamed setting fails here.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import YAML from 'yaml';
import { loadConfig } from '../src/config';

const ROOT = path.resolve(__dirname, '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
type Json = any;
const clone = <T>(v: T): T => structuredClone(v);

function installTool(script: string, ...args: string[]): string {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts', script), ...args], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000,
  }).trim();
  assert.ok(out && fs.existsSync(out), `${script} printed ${JSON.stringify(out)}`);
  return out;
}

function run(cmd: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The settings src/config.ts reads: the keys of its zod schema. */
function configKeys(): Set<string> {
  const text = read('src/config.ts');
  const start = text.indexOf('const schema = z.object({');
  const end = text.indexOf('\n});', start);
  assert.ok(start >= 0 && end > start, 'src/config.ts: the `const schema = z.object({ ... });` block was not found');
  const keys = new Set([...text.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]));
  assert.ok(keys.size > 30 && keys.has('DATABASE_URL') && keys.has('TEMPORAL_ADDRESS'), `read ${keys.size} keys from src/config.ts`);
  return keys;
}

function assertKnownSettings(where: string, names: Iterable<string>, known: Set<string>, allowed: string[] = []): void {
  const unknown = [...names].filter((n) => !known.has(n) && !allowed.includes(n));
  assert.deepEqual(unknown, [], `${where} sets environment variables that src/config.ts does not read: ${unknown.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction { keyword: string; args: string; stage: string }

/** Instructions of a Dockerfile: continuation lines joined, comments dropped, each with its stage. */
function parseDockerfile(text: string): { instructions: Instruction[]; stages: { name: string; from: string }[]; args: Record<string, string> } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) { current += `${line.slice(0, -1).trim()} `; continue; }
    logical.push(`${current}${line}`.trim());
    current = '';
  }
  const instructions: Instruction[] = [];
  const stages: { name: string; from: string }[] = [];
  const args: Record<string, string> = {};
  let stage = '';
  for (const l of logical.filter(Boolean)) {
    const [, keyword, rest] = /^(\S+)\s*(.*)$/.exec(l) ?? [];
    const kw = keyword.toUpperCase();
    if (kw === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      assert.ok(m, `FROM ${rest}`);
      stage = m[2] ?? String(stages.length);
      stages.push({ name: stage, from: m[1] });
    }
    if (kw === 'ARG' && stage === '') {
      const [name, value] = rest.split('=');
      args[name] = value ?? '';
    }
    instructions.push({ keyword: kw, args: rest, stage });
  }
  return { instructions, stages, args };
}

/** The exec-form array of an instruction (JSON), or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  return args.trim().startsWith('[') ? JSON.parse(args) : undefined;
}

/** The keys set by ENV instructions (`ENV A=1 B=2` form). */
function envKeys(instructions: Instruction[]): string[] {
  return instructions.filter((i) => i.keyword === 'ENV').flatMap((i) => [...i.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]));
}

/** A .dockerignore pattern as a regular expression over paths relative to the context. */
function ignoreMatcher(pattern: string): RegExp {
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  const re = p.split('/').map((part) => part.split('**').map((s) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('.*')).join('/');
  return new RegExp(`^${re}(/.*)?$`);
}

describe('Dockerfile', () => {
  const dockerfile = parseDockerfile(read('Dockerfile'));
  const build = dockerfile.instructions.filter((i) => i.stage === 'build');
  const runtime = dockerfile.instructions.filter((i) => i.stage === 'runtime');
  const last = (kw: string) => runtime.filter((i) => i.keyword === kw).at(-1);

  it('builds in a build stage and runs from a slim Node.js 24 (LTS) stage', () => {
    assert.deepEqual(dockerfile.stages.map((s) => s.name), ['build', 'runtime']);
    assert.match(dockerfile.args.NODE_IMAGE ?? '', /^node:24-bookworm-slim$/, 'ARG NODE_IMAGE defaults to node:24-bookworm-slim');
    for (const s of dockerfile.stages) assert.equal(s.from, '${NODE_IMAGE}', `stage ${s.name} starts FROM \${NODE_IMAGE}`);
  });

  it('installs with npm ci from the lockfile and .npmrc, builds, then keeps production dependencies only', () => {
    const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const ci = build.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    const copyManifests = build.findIndex((i) => i.keyword === 'COPY' && /\bpackage-lock\.json\b/.test(i.args) && /\.npmrc\b/.test(i.args));
    assert.ok(copyManifests >= 0 && ci > copyManifests, 'package.json, package-lock.json and .npmrc are copied before `npm ci`');
    assert.ok(runs.some((r) => /\bnpm run build\b/.test(r)), 'npm run build');
    assert.ok(runs.some((r) => /\bnpm prune --omit=dev\b/.test(r)), 'npm prune --omit=dev');
    assert.ok(!runtime.some((i) => i.keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args)), 'the runtime stage installs nothing with npm');
    const fromBuild = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    assert.ok(fromBuild.every((a) => a.startsWith('--from=build ')), `runtime copies only from the build stage: ${fromBuild.join(' | ')}`);
    for (const needed of ['node_modules', 'dist', 'bin', 'package.json']) {
      assert.ok(fromBuild.some((a) => a.includes(`/app/${needed}`)), `runtime gets ${needed} from the build stage`);
    }
    // What the build removes must not include the Linux binaries serving and the worker load.
    const removed = runs.join(' ').match(/node_modules\/\S+/g) ?? [];
    assert.ok(removed.length > 0 && removed.every((p) => !/linux/.test(p)), `removed: ${removed.join(' ')}`);
  });

  it('onnxruntime-node skips its download with .npmrc\'s flag, and still finds the bundled CPU binary', () => {
    assert.match(read('.npmrc'), /^onnxruntime-node-install=skip$/m);
    const pkg = path.join(ROOT, 'node_modules', 'onnxruntime-node');
    // npm passes an .npmrc key to install scripts as npm_config_<key>; the script exits before any download.
    const env = { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), npm_config_onnxruntime_node_install: 'skip', HTTPS_PROXY: 'http://127.0.0.1:9', GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9' };
    const skipped = spawnSync(process.execPath, [path.join(pkg, 'script', 'install.js')], { cwd: pkg, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(skipped.status, 0, `install script with skip: ${skipped.stdout}${skipped.stderr}`);
    // The CPU binary the binding loads (dist/binding.js: bin/napi-v6/<platform>/<arch>/onnxruntime_binding.node)
    // ships in the npm package for both Linux architectures the image is built for.
    assert.match(fs.readFileSync(path.join(pkg, 'dist', 'binding.js'), 'utf8'), /bin\/napi-v6\/\$\{process\.platform\}\/\$\{process\.arch\}\/onnxruntime_binding\.node/);
    for (const arch of ['x64', 'arm64']) {
      for (const file of ['onnxruntime_binding.node', 'libonnxruntime.so.1']) {
        assert.ok(fs.existsSync(path.join(pkg, 'bin', 'napi-v6', 'linux', arch, file)), `linux/${arch}/${file} is in the package`);
      }
    }
    assert.ok(build.some((i) => i.keyword === 'ENV' && /\bONNXRUNTIME_NODE_INSTALL=skip\b/.test(i.args)), 'the build stage says skip in the environment too');
    assert.ok(runtime.some((i) => i.keyword === 'RUN' && /require\('onnxruntime-node'\)/.test(i.args)), 'the runtime stage proves the native module loads');
  });

  it('runs as an unprivileged user, with node bin/mlops.js as entrypoint and api as default command', () => {
    const user = last('USER')?.args ?? '';
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    const uid = user.split(':')[0];
    assert.ok(runtime.some((i) => i.keyword === 'RUN' && new RegExp(`useradd\\b.*--uid ${uid}\\b`).test(i.args)), `user ${uid} is created`);
    assert.deepEqual(execForm(last('ENTRYPOINT')?.args ?? ''), ['node', 'bin/mlops.js']);
    assert.deepEqual(execForm(last('CMD')?.args ?? ''), ['api']);
    assert.ok(fs.existsSync(path.join(ROOT, 'bin', 'mlops.js')));
    assert.ok(!read('Dockerfile').split('\n').some((l) => !l.trim().startsWith('#') && /\bcurl\b|\bwget\b/.test(l)), 'no curl or wget');
  });

  it('every runtime environment variable is a setting of src/config.ts', () => {
    assertKnownSettings('Dockerfile (runtime stage)', envKeys(runtime), configKeys(), ['NODE_ENV']);
  });

  it('.dockerignore keeps out local state and secrets but nothing the build copies', () => {
    const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const ignored = (p: string) => patterns.some((pat) => !pat.startsWith('!') && ignoreMatcher(pat).test(p));
    for (const i of build.filter((x) => x.keyword === 'COPY' && !x.args.startsWith('--from'))) {
      const sources = i.args.split(/\s+/).slice(0, -1);
      for (const s of sources) {
        const matches = fs.readdirSync(ROOT).filter((f) => ignoreMatcher(s.replace(/\/$/, '')).test(f));
        assert.ok(matches.length > 0, `COPY source ${s} exists`);
        for (const m of matches) assert.ok(!ignored(m), `.dockerignore excludes ${m}, which the Dockerfile copies`);
      }
    }
    for (const p of ['node_modules', 'dist', '.mlops', '.git', '.env', '.env.production']) assert.ok(ignored(p), `.dockerignore keeps ${p} out`);
  });

  describe('HEALTHCHECK', () => {
    let server: http.Server;
    let status = 200;
    let port = 0;
    before(async () => {
      server = http.createServer((req, res) => { res.statusCode = req.url === '/healthz' ? status : 404; res.end('{}'); });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const check = () => {
      const hc = last('HEALTHCHECK')?.args ?? '';
      const cmd = execForm(hc.slice(hc.indexOf('CMD') + 3)) ?? [];
      assert.equal(cmd[0], 'node', 'a node one-liner: the slim image has no curl');
      return new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, cmd.slice(1), { env: { PATH: process.env.PATH ?? '', MLOPS_API_PORT: String(port) }, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });
    };

    it('probes /healthz with options', () => {
      const hc = last('HEALTHCHECK')?.args ?? '';
      assert.match(hc, /--interval=\d+s/);
      assert.match(hc, /--timeout=\d+s/);
      assert.match(hc, /\/healthz/);
    });
    it('passes while /healthz answers 200 and fails on 503 or no answer', async () => {
      status = 200;
      assert.equal(await check(), 0);
      status = 503;
      assert.equal(await check(), 1);
      const closedPort = port;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      port = closedPort;
      assert.equal(await check(), 1);
      server.listen(port, '127.0.0.1');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

/** KEY=VALUE lines of an env file. */
function envFile(rel: string): Record<string, string> {
  return Object.fromEntries(read(rel).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (m, name: string, op: string | undefined, arg: string | undefined) => {
    if (m === '$$') return '$';
    const v = vars[name];
    const set = v !== undefined && (op?.startsWith(':') ? v !== '' : true);
    if (!op) return v ?? '';
    if (op.endsWith('-')) return set ? v : (arg ?? '');
    if (!set) throw new Error(`required variable ${name} is missing: ${arg}`);
    return v;
  });
}

/** Every string in a parsed YAML value. */
function strings(v: Json): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

/** Bind mounts of a service in short syntax: [source, target]. */
function bindMounts(svc: Json): { source: string; target: string }[] {
  return (svc.volumes ?? []).filter((v: Json) => typeof v === 'string' && v.startsWith('.')).map((v: string) => {
    const [source, target] = v.split(':');
    return { source, target };
  });
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose: Json = YAML.parse(text, { merge: true });
  const services: Record<string, Json> = compose.services;
  const example = envFile('deploy/compose/env.example');
  const platformServices = Object.entries(services).filter(([, s]) => s.build?.context === '.');
  let schemaValidate: (data: Json) => string[];
  let typedValidate: (data: Json) => string[];

  before(() => {
    const schema = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json'), 'utf8'));
    delete schema.$schema;
    const compile = (s: Json) => {
      const validate = new Ajv({ strict: false, validateFormats: false }).compile(s);
      return (data: Json) => (validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
    };
    schemaValidate = compile(schema);
    // The schema lets integer and boolean fields be strings, because it checks files before
    // interpolation; Compose then converts them and refuses what does not convert. After
    // interpolation those fields must hold the real type (port ranges such as "8000-8010" aside).
    const typed = clone(schema);
    const narrow = (o: Json, at: string): void => {
      if (Array.isArray(o)) { o.forEach((x, i) => narrow(x, `${at}/${i}`)); return; }
      if (!o || typeof o !== 'object') return;
      if (Array.isArray(o.type) && o.type.length === 2 && o.type.includes('string') && (o.type.includes('integer') || o.type.includes('boolean')) && !/\/(published|target)$/.test(at)) {
        o.type = o.type.find((t: string) => t !== 'string');
      }
      for (const [k, v] of Object.entries(o)) narrow(v, `${at}/${k}`);
    };
    narrow(typed, '');
    typedValidate = compile(typed);
  });

  /** The file as Compose reads it with deploy/compose/env.example as its .env: interpolated, then parsed. */
  const resolved = (source: string): Json => YAML.parse(interpolate(source, example), { merge: true });

  it('matches the Compose Specification schema, before and after interpolation', () => {
    assert.deepEqual(schemaValidate(compose), []);
    assert.deepEqual(typedValidate(resolved(text)), []);
  });

  it('the schema check refuses a broken copy (replicas: two, a misspelt key)', () => {
    const replicas = resolved(text.replace(/replicas: 2\b/, 'replicas: two'));
    assert.ok(typedValidate(replicas).some((e) => e.includes('/deploy/replicas')), 'replicas: two');
    const typo = clone(compose);
    typo.services.worker.enviroment = typo.services.worker.environment;
    assert.ok(schemaValidate(typo).some((e) => e.includes('enviroment')), 'enviroment:');
  });

  it('runs Temporal on PostgreSQL, its UI, the platform database, 2 API replicas behind a balancer, 2 workers and monitoring', () => {
    assert.match(services.temporal.image, /^temporalio\/(server|auto-setup):/);
    // the one Temporal configuration (deploy/temporal/cluster.yaml), on the compose network's PostgreSQL
    assert.ok(bindMounts(services.temporal).some((m) => m.source === './deploy/temporal' && m.target === '/etc/temporal/mlops'));
    assert.match(services.temporal.entrypoint.join(' '), /temporal-server --root \/ --config \/etc\/temporal\/mlops --env cluster start/);
    assert.equal(services.temporal.environment.TEMPORAL_CLUSTER_DB_HOST, 'temporal-postgresql');
    assert.equal(services.temporal.environment.TEMPORAL_CLUSTER_DYNAMIC_CONFIG, '/etc/temporal/mlops/dynamicconfig.yaml');
    assert.equal(services['temporal-schema'].environment.POSTGRES_SEEDS, 'temporal-postgresql');
    assert.match(services['temporal-ui'].image, /^temporalio\/ui:/);
    assert.match(services.postgresql.image, /^postgres:/);
    assert.equal(services.api.deploy.replicas, 2);
    assert.deepEqual(services.api.command, ['api']);
    assert.equal(services.api.ports, undefined, 'replicas publish no host port; api-lb does');
    assert.equal(services.worker.deploy.replicas, 2);
    assert.deepEqual(services.worker.command, ['worker']);
    assert.match(services['api-lb'].image, /^nginx:/);
    assert.match(services.prometheus.image, /^prom\/prometheus:/);
    assert.match(services.alertmanager.image, /^prom\/alertmanager:/);
    assert.match(services.grafana.image, /^grafana\/grafana/);
    assert.deepEqual(platformServices.map(([name]) => name).sort(), ['api', 'worker']);
    for (const [name, svc] of platformServices) {
      assert.equal(svc.depends_on['temporal-setup'].condition, 'service_completed_successfully', `${name} waits for the namespace`);
      assert.equal(svc.depends_on.postgresql.condition, 'service_healthy', `${name} waits for PostgreSQL`);
    }
  });

  it('the balancer forwards to the API replicas on the port they listen on', () => {
    const nginx = read('deploy/compose/nginx/nginx.conf');
    const apiPort = interpolate(String(services.api.environment.MLOPS_API_PORT), example);
    assert.match(nginx, new RegExp(`http://api:${apiPort}\\b`));
    assert.match(nginx, /resolver 127\.0\.0\.11\b/, 'resolves the replicas through Docker\'s DNS at request time');
    const listen = /listen (\d+);/.exec(nginx)?.[1];
    assert.ok(services['api-lb'].ports.some((p: string) => interpolate(p, example).endsWith(`:${listen}`)), 'api-lb publishes the port nginx listens on');
    assert.equal((nginx.match(/\{/g) ?? []).length, (nginx.match(/\}/g) ?? []).length, 'balanced braces');
  });

  it('every bind-mounted file exists, and mounted scripts parse', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const { source } of bindMounts(svc)) {
        const file = path.join(ROOT, source);
        assert.ok(fs.existsSync(file), `${name} mounts ${source}, which does not exist`);
        if (file.endsWith('.sh')) {
          const r = run('sh', ['-n', file]);
          assert.equal(r.status, 0, `sh -n ${source}: ${r.output}`);
        }
      }
      for (const e of [svc.entrypoint ?? []].flat()) {
        if (typeof e === 'string' && e.startsWith('/scripts/')) assert.ok(bindMounts(svc).some((m) => m.target === e), `${name} runs ${e}, which it mounts`);
      }
    }
  });

  it('gives the platform only settings of src/config.ts, with values it accepts', () => {
    const known = configKeys();
    for (const [name, svc] of platformServices) {
      assertKnownSettings(`docker-compose.yml service ${name}`, Object.keys(svc.environment), known);
      const env = Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, interpolate(String(v), example)]));
      assert.doesNotThrow(() => loadConfig(env), `service ${name} with deploy/compose/env.example`);
      const config = loadConfig(env);
      assert.equal(config.temporal.address, 'temporal:7233');
      assert.match(config.database.url ?? '', /@postgresql:5432\/mlops$/);
    }
  });

  it('every variable it interpolates is documented in deploy/compose/env.example, and secrets are required', () => {
    const used = new Set(strings(compose).flatMap((s) => [...s.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1])));
    const undocumented = [...used].filter((v) => !(v in example));
    assert.deepEqual(undocumented, [], 'variables missing from env.example');
    for (const secret of ['MLOPS_ADMIN_KEY', 'POSTGRES_MLOPS_PASSWORD', 'POSTGRES_TEMPORAL_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
      assert.ok(strings(compose).some((s) => s.includes(`\${${secret}:?`)), `${secret} has no default: compose refuses to start without it`);
      assert.match(example[secret], /change-me/, `${secret} is a clear placeholder in env.example`);
    }
    assert.throws(() => interpolate(services.api.environment.MLOPS_ADMIN_KEY, {}), /MLOPS_ADMIN_KEY/);
  });

  describe('monitoring', () => {
    let promtool: string;
    let amtool: string;
    const layout = (svc: Json, dir: string) => {
      for (const { source, target } of bindMounts(svc)) {
        const dest = path.join(dir, target);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.cpSync(path.join(ROOT, source), dest, { recursive: true });
      }
    };
    before(() => {
      promtool = installTool('install-promtool.sh');
      amtool = installTool('install-amtool.sh');
    });

    it('promtool accepts Prometheus\'s configuration and the rule file, laid out as compose mounts them', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-prometheus-'));
      try {
        layout(services.prometheus, dir);
        const configArg = services.prometheus.command.find((c: string) => c.startsWith('--config.file=')).split('=')[1];
        const r = run(promtool, ['check', 'config', path.join(dir, configArg)]);
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /SUCCESS: 1 rule files found/);
        assert.ok(bindMounts(services.prometheus).some((m) => m.source === './deploy/prometheus/alerts.yml'), 'the platform\'s rules are mounted');
        // A broken copy must fail: an unknown field.
        const cfg = path.join(dir, configArg);
        fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('scrape_interval:', 'scrape_intervall:'));
        assert.notEqual(run(promtool, ['check', 'config', cfg]).status, 0);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('Prometheus scrapes every API replica and alerts through the alertmanager service', () => {
      const prom: Json = YAML.parse(read('deploy/compose/prometheus/prometheus.yml'));
      const job = prom.scrape_configs.find((j: Json) => j.job_name === 'mlops-api');
      assert.equal(job.metrics_path, '/metrics');
      assert.deepEqual(job.dns_sd_configs[0].names, ['api'], 'DNS discovery of the api service: one target per replica');
      assert.equal(String(job.dns_sd_configs[0].port), interpolate(String(services.api.environment.MLOPS_API_PORT), example));
      const target: string = prom.alerting.alertmanagers[0].static_configs[0].targets[0];
      assert.ok(target.split(':')[0] in services, `${target} is a compose service`);
    });

    it('amtool accepts Alertmanager\'s configuration, and refuses a broken copy', () => {
      const file = path.join(ROOT, 'deploy/compose/alertmanager/alertmanager.yml');
      const r = run(amtool, ['check-config', file]);
      assert.equal(r.status, 0, r.output);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-alertmanager-'));
      try {
        const broken = path.join(dir, 'alertmanager.yml');
        fs.writeFileSync(broken, fs.readFileSync(file, 'utf8').replace('receiver: default\n  # One', 'receiver: nobody\n  # One'));
        assert.notEqual(run(amtool, ['check-config', broken]).status, 0, 'a route to an undefined receiver must fail');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      assert.ok(bindMounts(services.alertmanager).some((m) => m.source === './deploy/compose/alertmanager/alertmanager.yml' && m.target === services.alertmanager.command[0].split('=')[1]));
    });

    it('Grafana gets the Prometheus datasource and the dashboard from the folder its provider reads', () => {
      const mounts = bindMounts(services.grafana);
      const ds: Json = YAML.parse(read('deploy/compose/grafana/provisioning/datasources/prometheus.yml'));
      assert.equal(ds.apiVersion, 1);
      const prom = ds.datasources.find((d: Json) => d.type === 'prometheus');
      assert.ok(prom?.isDefault, 'the dashboard\'s datasource variable picks the default Prometheus');
      assert.equal(prom.url, 'http://prometheus:9090');
      const providers: Json = YAML.parse(read('deploy/compose/grafana/provisioning/dashboards/mlops.yml'));
      const folder = providers.providers[0].options.path;
      const dashboard = mounts.find((m) => m.source === './deploy/grafana/mlops-dashboard.json');
      assert.ok(dashboard && path.posix.dirname(dashboard.target) === folder, `the dashboard is mounted into ${folder}`);
      for (const sub of ['datasources', 'dashboards']) {
        assert.ok(mounts.some((m) => m.target === `/etc/grafana/provisioning/${sub}` && m.source === `./deploy/compose/grafana/provisioning/${sub}`), `provisioning/${sub} is mounted`);
      }
      const json = JSON.parse(read('deploy/grafana/mlops-dashboard.json'));
      assert.ok(json.templating.list.some((v: Json) => v.type === 'datasource' && v.query === 'prometheus'));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

const K8S_VERSIONS = ['1.30.0', '1.37.0'];
const K8S_DIR = 'deploy/k8s';
const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

interface Doc { file: string; doc: Json }

function yamlDocs(rel: string): Doc[] {
  return YAML.parseAllDocuments(read(rel)).map((d) => {
    assert.deepEqual(d.errors, [], `${rel}: ${d.errors.join('; ')}`);
    return { file: rel, doc: d.toJSON() };
  }).filter((d) => d.doc);
}

function k8sFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `${dir}/${f}`);
}

/** Schema file of an object in kubernetes-validate's layout: deployment-apps-v1.json, service-v1.json. */
function schemaFile(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return `${kind.toLowerCase()}${group ? `-${group.split('.')[0]}` : ''}-${version}.json`;
}

const byKind = (docs: Doc[], kind: string, name?: string) => docs.map((d) => d.doc).filter((d) => d.kind === kind && (!name || d.metadata.name === name));
const podSpecs = (docs: Doc[]) => byKind(docs, 'Deployment').map((d) => ({ name: d.metadata.name as string, spec: d.spec.template.spec }));

describe('Kubernetes manifests', () => {
  // The folder `kubectl apply -f deploy/k8s/` applies, the Secret template, and the KEDA folder.
  const core = k8sFiles(K8S_DIR).flatMap(yamlDocs);
  const secrets = k8sFiles(`${K8S_DIR}/secrets`).flatMap(yamlDocs);
  const keda = k8sFiles(`${K8S_DIR}/keda`).flatMap(yamlDocs);
  const all = [...core, ...secrets];
  const validators = new Map<string, (doc: Json) => string[]>();
  let schemasDir = '';

  before(() => {
    schemasDir = installTool('install-k8s-schemas.sh', ...K8S_VERSIONS);
  });

  /** Validates an object against the strict schema of its kind in one Kubernetes release. */
  const validate = (doc: Json, version: string): string[] => {
    const file = schemaFile(doc.apiVersion, doc.kind);
    const key = `${version}/${file}`;
    if (!validators.has(key)) {
      const dir = path.join(schemasDir, `v${version}-local-strict`);
      assert.ok(fs.existsSync(path.join(dir, file)), `Kubernetes ${version} has no schema ${file} (${doc.apiVersion} ${doc.kind})`);
      let ajv = ajvByVersion.get(version);
      if (!ajv) {
        ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
        ajv.addSchema(JSON.parse(fs.readFileSync(path.join(dir, '_definitions.json'), 'utf8')));
        ajvByVersion.set(version, ajv);
      }
      const fn = ajv.compile(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
      validators.set(key, (d) => (fn(d) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)));
    }
    return validators.get(key)!(doc);
  };
  const ajvByVersion = new Map<string, InstanceType<typeof Ajv2020>>();

  it('every object matches the strict Kubernetes schema of its kind, in each release', () => {
    assert.ok(all.length >= 10, `${all.length} objects`);
    for (const version of K8S_VERSIONS) {
      for (const { file, doc } of all) {
        assert.deepEqual(validate(doc, version), [], `${file}: ${doc.kind} ${doc.metadata?.name} on Kubernetes ${version}`);
      }
    }
  });

  it('the schema check refuses broken copies', () => {
    const api = byKind(core, 'Deployment', 'mlops-api')[0];
    const v = K8S_VERSIONS[0];
    const replicas = clone(api);
    replicas.spec.replicas = 'two';
    assert.ok(validate(replicas, v).some((e) => e.startsWith('/spec/replicas')), 'replicas: "two"');
    const typo = clone(api);
    typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
    assert.ok(validate(typo, v).some((e) => e.includes('readinesProbe')), 'a misspelt field');
    const config = clone(byKind(core, 'ConfigMap')[0]);
    config.data.MLOPS_API_PORT = 8080;
    assert.ok(validate(config, v).some((e) => e.includes('/data/MLOPS_API_PORT')), 'a ConfigMap value that is not a string');
    const hpa = clone(byKind(core, 'HorizontalPodAutoscaler')[0]);
    hpa.spec.metrics[0].resource.target.averageUtilization = '70%';
    assert.ok(validate(hpa, v).length > 0, 'averageUtilization: "70%"');
  });

  it('has the namespace, config, API with Service, HPA and PDB, and workers with PDB, all in one namespace', () => {
    const kinds = core.map((d) => `${d.doc.kind}/${d.doc.metadata.name}`).sort();
    for (const k of ['Namespace/mlops', 'ConfigMap/mlops-config', 'ServiceAccount/mlops', 'Deployment/mlops-api', 'Service/mlops-api', 'HorizontalPodAutoscaler/mlops-api',
      'PodDisruptionBudget/mlops-api', 'Deployment/mlops-worker', 'PodDisruptionBudget/mlops-worker']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
    assert.deepEqual(byKind(secrets, 'Secret').map((s) => s.metadata.name), ['mlops-secrets']);
    assert.equal(byKind(core, 'Secret').length, 0, 'no Secret with placeholders among what `kubectl apply -f deploy/k8s/` applies');
    assert.equal(core[0].doc.kind, 'Namespace', 'the namespace comes first in apply order');
    for (const { file, doc } of [...all, ...keda]) if (doc.kind !== 'Namespace') assert.equal(doc.metadata.namespace, 'mlops', `${file} ${doc.kind}`);
  });

  it('the API: 2 replicas, readiness /readyz, liveness /healthz, resources, Prometheus annotations; the HPA scales it on CPU', () => {
    const api = byKind(core, 'Deployment', 'mlops-api')[0];
    const c = api.spec.template.spec.containers[0];
    assert.equal(api.spec.replicas, 2);
    assert.deepEqual(c.args, ['api']);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    const port = c.ports.find((p: Json) => p.name === c.readinessProbe.httpGet.port);
    const config = byKind(core, 'ConfigMap', 'mlops-config')[0].data;
    assert.equal(String(port?.containerPort), config.MLOPS_API_PORT, 'probes use the port the API listens on');
    const annotations = api.spec.template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/port'], config.MLOPS_API_PORT);
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    assert.ok(c.lifecycle?.preStop, 'a preStop pause lets endpoint removal spread before SIGTERM');
    const service = byKind(core, 'Service', 'mlops-api')[0];
    assert.ok(service.spec.ports.every((p: Json) => c.ports.some((cp: Json) => cp.name === p.targetPort || cp.containerPort === p.targetPort)));
    const hpa = byKind(core, 'HorizontalPodAutoscaler', 'mlops-api')[0];
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mlops-api' });
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    assert.ok(hpa.spec.metrics.some((m: Json) => m.type === 'Resource' && m.resource.name === 'cpu' && m.resource.target.type === 'Utilization'));
  });

  it('the workers: 2 replicas, a grace period longer than the worker\'s own shutdown grace time', () => {
    const worker = byKind(core, 'Deployment', 'mlops-worker')[0];
    const spec = worker.spec.template.spec;
    assert.equal(worker.spec.replicas, 2);
    assert.deepEqual(spec.containers[0].args, ['worker']);
    const grace = /shutdownGraceTime:\s*'(\d+) seconds'/.exec(read('src/worker.ts'));
    assert.ok(grace, 'src/worker.ts sets shutdownGraceTime in seconds');
    assert.ok(spec.terminationGracePeriodSeconds >= Number(grace[1]) + 20, `terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} leaves room after the ${grace[1]} s activity grace`);
    const images = new Set(podSpecs(core).map((p) => p.spec.containers[0].image));
    assert.equal(images.size, 1, 'API and workers run the same image');
  });

  it('selectors match: Services, PDBs and HPAs find their pods', () => {
    const deployments = byKind(core, 'Deployment');
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels;
      assert.ok(Object.entries(d.spec.selector.matchLabels).every(([k, v]) => labels[k] === v), `${d.metadata.name}: selector matches its template`);
    }
    const selects = (selector: Record<string, string>) => deployments.filter((d) => Object.entries(selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v)).map((d) => d.metadata.name);
    assert.deepEqual(selects(byKind(core, 'Service', 'mlops-api')[0].spec.selector), ['mlops-api']);
    for (const pdb of byKind(core, 'PodDisruptionBudget')) assert.deepEqual(selects(pdb.spec.selector.matchLabels), [pdb.metadata.name]);
  });

  it('pods meet the restricted Pod Security Standard, write only to emptyDirs, and state their resources', () => {
    for (const { name, spec } of podSpecs(core)) {
      assert.equal(spec.securityContext.runAsNonRoot, true, name);
      assert.ok(spec.securityContext.runAsUser > 0, `${name} runs as a non-zero uid`);
      assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault', name);
      assert.equal(spec.automountServiceAccountToken, false, name);
      assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC, name);
      for (const vol of spec.volumes ?? []) assert.ok(vol.emptyDir || vol.configMap || vol.secret || vol.projected, `${name}: volume ${vol.name}`);
      for (const c of spec.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, `${name}/${c.name}`);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, `${name}/${c.name}`);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], `${name}/${c.name}`);
        assert.ok(!c.securityContext.privileged, `${name}/${c.name}`);
        assert.ok(c.volumeMounts.some((m: Json) => m.mountPath === '/tmp' && spec.volumes.find((v: Json) => v.name === m.name)?.emptyDir), `${name}: /tmp is an emptyDir`);
        for (const [kind, values] of Object.entries({ requests: c.resources.requests, limits: c.resources.limits })) {
          assert.ok(values?.cpu !== undefined && values?.memory !== undefined, `${name}/${c.name} sets cpu and memory ${kind}`);
          for (const q of Object.values(values as Record<string, string>)) assert.match(String(q), QUANTITY, `${name}/${c.name} ${kind}: ${q}`);
        }
      }
    }
  });

  it('containers get only settings of src/config.ts, from the ConfigMap and Secret that exist, with values it accepts', () => {
    const known = configKeys();
    const config = byKind(core, 'ConfigMap', 'mlops-config')[0];
    const secret = byKind(secrets, 'Secret', 'mlops-secrets')[0];
    assertKnownSettings('deploy/k8s ConfigMap mlops-config', Object.keys(config.data), known);
    assertKnownSettings('deploy/k8s Secret mlops-secrets', Object.keys(secret.stringData), known);
    for (const { name, spec } of podSpecs(core)) {
      for (const c of spec.containers) {
        assertKnownSettings(`deploy/k8s ${name}/${c.name} env`, (c.env ?? []).map((e: Json) => e.name), known);
        const refs = (c.envFrom ?? []).map((e: Json) => e.configMapRef?.name ?? e.secretRef?.name);
        assert.deepEqual(refs, ['mlops-config', 'mlops-secrets'], `${name} reads the ConfigMap and the Secret`);
      }
    }
    const env = { ...config.data, ...secret.stringData };
    const loaded = loadConfig(env);
    assert.equal(loaded.artifacts.kind, 's3', 'pods on different nodes share artifacts through S3');
    assert.ok(loaded.temporal.address, 'TEMPORAL_ADDRESS is set: no dev server is started in a pod');
    assert.ok(loaded.database.url, 'DATABASE_URL is set: no embedded store in a pod');
    assert.ok(loaded.api.adminKey, 'MLOPS_ADMIN_KEY is set: nothing is written to the data dir');
    for (const v of Object.values(secret.stringData as Record<string, string>)) assert.match(v, /CHANGE-ME/, 'Secret values are clear placeholders');
  });

  describe('KEDA ScaledObject', () => {
    const scaled = byKind(keda, 'ScaledObject');
    // The ScaledObject spec fields and the temporal trigger's metadata keys, as KEDA documents them
    // (keda.sh/docs: ScaledObject specification; scalers/temporal, KEDA 2.17+).
    const SPEC_FIELDS = ['scaleTargetRef', 'pollingInterval', 'cooldownPeriod', 'initialCooldownPeriod', 'idleReplicaCount', 'minReplicaCount', 'maxReplicaCount', 'fallback', 'advanced', 'triggers'];
    const TEMPORAL_KEYS = ['endpoint', 'endpointFromEnv', 'namespace', 'taskQueue', 'targetQueueSize', 'activationTargetQueueSize', 'queueTypes', 'workerDeploymentName',
      'workerDeploymentBuildId', 'buildId', 'selectAllActive', 'selectUnversioned', 'includeRunningWorkflowCount', 'workflowTaskQueueForCount', 'minConnectTimeout',
      'unsafeSsl', 'tlsServerName', 'enableTLS'];

    /** Problems of a ScaledObject: the CRD's types, then what the types leave open. */
    const problems = (so: Json): string[] => {
      const out: string[] = [];
      try { new ScaledObject(so).validate(); } catch (err) { out.push(`CRD: ${(err as Error).message}`); }
      for (const k of Object.keys(so.spec ?? {})) if (!SPEC_FIELDS.includes(k)) out.push(`spec.${k} is not a ScaledObject field`);
      for (const t of so.spec?.triggers ?? []) {
        if (t.type !== 'temporal') continue;
        const m = t.metadata ?? {};
        for (const [k, v] of Object.entries(m)) {
          if (!TEMPORAL_KEYS.includes(k)) out.push(`temporal trigger: unknown metadata ${k}`);
          if (typeof v !== 'string') out.push(`temporal trigger: ${k} must be a string`);
        }
        if (!m.endpoint && !m.endpointFromEnv) out.push('temporal trigger: endpoint is required');
        if (!m.taskQueue) out.push('temporal trigger: taskQueue is required');
        for (const k of ['targetQueueSize', 'activationTargetQueueSize']) if (k in m && !/^\d+$/.test(String(m[k]))) out.push(`temporal trigger: ${k} must be a whole number`);
        for (const q of String(m.queueTypes ?? 'workflow').split(',')) if (!['workflow', 'activity', 'nexus'].includes(q)) out.push(`temporal trigger: queue type ${q}`);
      }
      return out;
    };

    it('matches the CRD\'s types and the temporal scaler\'s fields', () => {
      assert.equal(scaled.length, 1);
      assert.equal(scaled[0].apiVersion, 'keda.sh/v1alpha1');
      assert.deepEqual(problems(scaled[0]), []);
    });

    it('refuses broken copies', () => {
      const so = scaled[0];
      const t = so.spec.triggers.findIndex((x: Json) => x.type === 'temporal');
      const number = clone(so);
      number.spec.triggers[t].metadata.targetQueueSize = 4;
      assert.ok(problems(number).some((p) => p.includes('targetQueueSize')), 'an unquoted number');
      const typo = clone(so);
      typo.spec.triggers[t].metadata.taskQueu = typo.spec.triggers[t].metadata.taskQueue;
      delete typo.spec.triggers[t].metadata.taskQueue;
      assert.ok(problems(typo).some((p) => p.includes('taskQueu')), 'a misspelt key');
      const count = clone(so);
      count.spec.minReplicaCount = 'two';
      assert.ok(problems(count).some((p) => p.includes('minReplicaCount')), 'minReplicaCount: "two"');
      const field = clone(so);
      field.spec.maxReplicas = 3;
      assert.ok(problems(field).some((p) => p.includes('maxReplicas')), 'an HPA field in a ScaledObject');
    });

    it('watches the queue, namespace and frontend the workers use, and scales the worker Deployment', () => {
      const so = scaled[0];
      const config = byKind(core, 'ConfigMap', 'mlops-config')[0].data;
      const m = so.spec.triggers.find((x: Json) => x.type === 'temporal').metadata;
      assert.equal(m.endpoint, config.TEMPORAL_ADDRESS);
      assert.equal(m.namespace, config.TEMPORAL_NAMESPACE);
      assert.equal(m.taskQueue, config.MLOPS_TASK_QUEUE);
      const target = byKind(core, 'Deployment', so.spec.scaleTargetRef.name)[0];
      assert.ok(target, `scaleTargetRef ${so.spec.scaleTargetRef.name} is a Deployment here`);
      assert.deepEqual(target.spec.template.spec.containers[0].args, ['worker']);
      assert.ok(so.spec.minReplicaCount >= 1 && so.spec.maxReplicaCount > so.spec.minReplicaCount);
      // KEDA's cpu trigger needs CPU requests on the target's containers.
      if (so.spec.triggers.some((x: Json) => x.type === 'cpu')) assert.ok(target.spec.template.spec.containers.every((c: Json) => c.resources?.requests?.cpu));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// GitHub workflows

/** `parseArgs` option names of a `case '<command>'` in src/cli.ts. */
function cliOptions(command: string): string[] {
  const cli = read('src/cli.ts');
  const at = cli.indexOf(`case '${command}':`);
  assert.ok(at >= 0, `src/cli.ts has no command ${command}`);
  const next = cli.slice(at + 1).search(/\n\s+case '|\n\s+default:/);
  const body = cli.slice(at, next < 0 ? undefined : at + 1 + next);
  return [...body.matchAll(/'?([a-z][a-z-]*)'?:\s*\{\s*type:\s*'(?:string|boolean)'/g)].map((m) => m[1]);
}

/** Shell lines of the `run` steps, continuation lines joined. */
function runLines(workflow: Json): string[] {
  return Object.values(workflow.jobs as Record<string, Json>).flatMap((j) => j.steps ?? []).filter((s: Json) => s.run)
    .flatMap((s: Json) => String(s.run).replace(/\\\n\s*/g, ' ').split('\n'));
}

describe('CI scripts: with-node.sh, start-postgres.sh, .ci/run', () => {
  it('start-postgres.sh refuses a PG_FSYNC other than on or off before touching anything', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'start-postgres.sh')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, PG_FSYNC: 'maybe', PG_TEST_DIR: path.join(os.tmpdir(), 'mlops-never-made') },
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /PG_FSYNC must be on or off, not "maybe"/);
    assert.ok(!fs.existsSync(path.join(os.tmpdir(), 'mlops-never-made')));
  });

  const script = path.join(ROOT, 'scripts', 'with-node.sh');

  it('refuses to run without a Node major, or with one npm does not have, saying so', () => {
    const r = run('bash', [script]);
    assert.notEqual(r.status, 0);
    assert.match(r.output, /usage: scripts\/with-node.sh MAJOR COMMAND/);
    const unknown = run('bash', [script, '99', 'true']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.output, /npm has no node-linux-\w+@99/);
    assert.ok(!fs.existsSync(path.join(ROOT, '.cache', 'tools', 'node-99', 'bin', 'node')));
  });

  it('runs a command, and the Node it starts, on the container image\'s Node major', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read('Dockerfile'))?.[1];
    assert.ok(image, 'the Dockerfile names a node:<major> image');
    // npm pack fetches the runtime the first time (.ci/run has done so before the suite runs)
    const r = spawnSync('bash', [script, image, 'node', '-p', 'process.versions.node'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('.')[0], image);
    // .ci/run takes the same major from the Dockerfile, so the image's runtime is what CI tests
    assert.match(read('.ci/run'), /scripts\/with-node\.sh "\$\{image_node:\?[^}]*\}" npm run test:full/);
  });
});

describe('GitHub workflows', () => {
  const files = ['.github/workflows/ci.yml', '.github/workflows/model-ci.yml'];
  const parsed: Record<string, Json> = Object.fromEntries(files.map((f) => [f, YAML.parse(read(f))]));
  const pkg = JSON.parse(read('package.json'));

  const parserErrors = async (name: string, content: string): Promise<string[]> => {
    const { parseWorkflow, NoOperationTraceWriter } = await import('@actions/workflow-parser');
    const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
    return result.context.errors.getErrors().map((e) => e.message);
  };

  it('GitHub\'s workflow parser accepts both, and refuses a broken copy', async () => {
    for (const f of files) assert.deepEqual(await parserErrors(f, read(f)), [], f);
    const broken = read('.github/workflows/ci.yml').replace('    steps:\n', '    step:\n').replace('timeout-minutes: 60', 'timeout-minutes: "an hour"');
    const errors = await parserErrors('broken.yml', broken);
    assert.ok(errors.some((e) => e.includes("'step'")) && errors.some((e) => e.includes('an hour')), errors.join('\n'));
    const context = await parserErrors('context.yml', read('.github/workflows/model-ci.yml').replace('${{ github.workspace }}', '${{ runner.temp }}'));
    assert.ok(context.some((e) => e.includes('runner')), 'the runner context is not available in job-level env');
  });

  it('ci.yml: Node 20 and 24 (the image\'s), npm ci, typecheck, the full test suite, and an image build that is not pushed', () => {
    const ci = parsed['.github/workflows/ci.yml'];
    assert.ok('push' in ci.on && 'pull_request' in ci.on);
    const steps: Json[] = ci.jobs.test.steps;
    assert.ok(steps.some((s) => String(s.uses).startsWith('actions/checkout@')));
    assert.deepEqual(ci.jobs.test.strategy.matrix.node, [20, 24]);
    assert.equal(String(steps.find((s) => String(s.uses).startsWith('actions/setup-node@'))?.with['node-version']), '${{ matrix.node }}');
    const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read('Dockerfile'))?.[1];
    assert.ok(ci.jobs.test.strategy.matrix.node.includes(Number(image)), `the image's Node ${image} is tested`);
    const runs = steps.map((s) => s.run).filter(Boolean);
    for (const cmd of ['npm ci', 'npm run typecheck', 'npm run test:full']) assert.ok(runs.includes(cmd), cmd);
    const build = ci.jobs.image.steps.find((s: Json) => String(s.uses).startsWith('docker/build-push-action@'));
    assert.equal(build.with.push, false);
    assert.equal(build.with.context, '.');
  });

  it('model-ci.yml starts `mlops up` in the background and gates on `mlops run --auto --threshold ... --wait`', () => {
    const lines = runLines(parsed['.github/workflows/model-ci.yml']);
    assert.ok(lines.some((l) => /\bnode bin\/mlops\.js up\b.*&\s*$/.test(l)), 'mlops up runs in the background');
    const gate = lines.find((l) => /\bnode bin\/mlops\.js run\b/.test(l)) ?? '';
    for (const flag of ['--auto', '--threshold', '--wait', '--data', '--target']) assert.ok(gate.includes(flag), `${flag} in: ${gate}`);
    assert.match(gate, /--threshold auc=0\.95\b/);
    // The dataset and the target column it names exist.
    const data = /--data "\$GITHUB_WORKSPACE\/([^"]+)"/.exec(gate)?.[1] ?? '';
    assert.ok(fs.existsSync(path.join(ROOT, data)), `dataset ${data}`);
    const target = /--target (\S+)/.exec(gate)?.[1] ?? '';
    assert.ok(read(data).split('\n')[0].split(',').includes(target), `${data} has a column ${target}`);
  });

  it('every npm script, mlops command and flag the workflows run exists', () => {
    for (const f of files) {
      for (const line of runLines(parsed[f])) {
        for (const m of line.matchAll(/\bnpm run ([\w:-]+)/g)) assert.ok(m[1] in pkg.scripts, `${f}: npm run ${m[1]}`);
        for (const m of line.matchAll(/\bnode bin\/mlops\.js (\S+)((?:\s+[^|;&]+)?)/g)) {
          const command = m[1];
          assert.ok(read('src/cli.ts').includes(`case '${command}':`), `${f}: mlops ${command}`);
          const flags = [...m[2].matchAll(/--([a-z][a-z-]*)/g)].map((x) => x[1]);
          const options = cliOptions(command);
          for (const flag of flags) assert.ok(options.includes(flag), `${f}: mlops ${command} --${flag} (known: ${options.join(', ')})`);
        }
      }
    }
    assert.ok(cliOptions('run').includes('threshold'), 'the option reader finds run\'s options');
  });
});
