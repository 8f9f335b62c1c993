/**
 * Property-based fuzzing of the live API from its OpenAPI document, with schemathesis: for every
 * operation it generates valid and invalid requests (parameters, headers, bodies) and checks that no
 * answer is a 5xx and that every answer whose status is documented matches the documented schema.
 *
 * Runs against each store the tests have (the embedded PostgreSQL server, and yours when TEST_DATABASE_URL is
 * set), with four schemathesis workers sending requests at once, as clients do: concurrent requests
 * must not turn into 500s on either store (FUZZ_WORKERS picks another count).
 *
 * Bounded to fit a 2-core machine in a few minutes per store: 20 examples per operation, the `examples` and
 * `fuzzing` phases only. Schemathesis's `coverage` phase (boundary values of every constraint) is left
 * out: it generated ~2,400 cases and took over six minutes here. No operation is excluded: the ones
 * that start workflows (pipelines, retraining, reproduce, rollouts) mostly meet unknown models and data
 * and end fast; where the fuzzer reuses `cancer` from a list answer they run for real, which is the point.
 * The seed is fixed so a run is repeatable; FUZZ_SEED picks another, FUZZ_EXAMPLES more examples,
 * FUZZ_SHRINK=1 minimal failing examples.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunningApi, startApi } from '../src/stack/runtime';
import { ADMIN_AUTH, ApiStack, startApiStack } from './helpers/api-stack';
import { availableBackends } from './helpers/database';
import { appDocument } from './helpers/openapi';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { findSchemathesis, Schemathesis } from './helpers/schemathesis';

const SEED = process.env.FUZZ_SEED ?? '20261127';
const EXAMPLES = process.env.FUZZ_EXAMPLES ?? '20';
const WORKERS = process.env.FUZZ_WORKERS ?? '4';

/** Runs a command to its end (or kills it after `timeoutMs`), with its output in a file. */
function runTo(file: string, argv: string[], env: Record<string, string>, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(file, 'w');
    // in the output's folder: Hypothesis keeps caches (.hypothesis/) in its working directory
    const child = spawn(argv[0], argv.slice(1), { cwd: path.dirname(file), env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => { clearTimeout(timer); fs.closeSync(out); resolve(code); });
  });
}

for (const backend of availableBackends()) describe(`fuzzing the API from its OpenAPI document (${backend})`, () => {
  let st: Schemathesis;
  let stack: ApiStack;
  let dir: string;
  // a second API replica over the same stack, whose log we keep: a 500's stack trace is only written there
  let replica: RunningApi;
  const serverLog: string[] = [];

  before(async () => {
    st = await findSchemathesis();
    stack = await startApiStack({ backend, env: { MLOPS_TASK_QUEUE: `fuzz-test-${backend}` } });
    const endpoints = { temporalAddress: stack.temporal.address, temporalUiUrl: 'http://ui.test', databaseUrl: stack.db.url };
    replica = await startApi(stack.config, endpoints, stack.stores, (line) => serverLog.push(line));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-fuzz-'));
    // a deployed model, so list answers carry real resources the fuzzer can reuse
    const started = await stack.call('POST', '/v1/pipelines', { model: 'cancer', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto' } });
    for (const deadline = Date.now() + 120_000; ; await new Promise((r) => setTimeout(r, 200))) {
      const status = await stack.call('GET', `/v1/pipelines/${started.body.id}`);
      if (status.body.state === 'deployed') break;
      assert.ok(status.body.state === 'running' && Date.now() < deadline, `the pipeline did not deploy: ${JSON.stringify(status.body)}`);
    }
  });

  after(async () => {
    await replica?.stop();
    await stack?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds no server error and no answer that breaks its documented schema', async (t) => {
    const document = path.join(dir, 'openapi.json');
    fs.writeFileSync(document, JSON.stringify(appDocument()));
    const output = path.join(dir, 'schemathesis.txt');
    const started = Date.now();
    const fuzz = () => runTo(output, [
      ...st.command, 'run', document,
      '--url', replica.url,
      '-H', `Authorization: ${ADMIN_AUTH.authorization}`,
      '--checks', 'not_a_server_error,response_schema_conformance',
      '--phases', 'examples,fuzzing',
      '--max-examples', EXAMPLES,
      '--seed', SEED,
      // requests at once, as clients send them, on a store that runs each connection's session apart:
      // concurrency is part of what is tested
      '--workers', WORKERS,
      // a request that hangs is a failure too, but must not stall the run (the slowest honest answer,
      // reproduce retraining a model, takes a few seconds); and a broken build stops after ten findings
      '--request-timeout', '10',
      '--max-failures', '10',
      // shrinking replays a failure many times over, which for a slow one (a workflow that fails after
      // its retries) took minutes; FUZZ_SHRINK=1 turns it back on to get minimal examples
      ...(process.env.FUZZ_SHRINK === '1' ? [] : ['--no-shrink']),
      '--generation-database', 'none',
      // Hypothesis's health checks judge the generator, not the server; their messages describe the
      // strategies through Python's ast module, which is not thread-safe on CPython 3.11 and failed a
      // 4-worker run with "AST constructor recursion depth mismatch" (a Runtime Error of the tool)
      '--suppress-health-check', 'all',
      // the admin key is sent as given; generated bad keys would only trip the 429 throttle
      '--generation-with-security-parameters', 'false',
      '--no-color',
    ], st.env, 8 * 60_000);
    let code = await fuzz();
    let text = fs.readFileSync(output, 'utf8');
    // Hypothesis describes its strategies through Python's ast module, which is not thread-safe on
    // CPython 3.11: with 4 workers it sometimes crashes on itself ("AST constructor recursion depth
    // mismatch", a Runtime Error of the tool, every test case passed). That says nothing about the API:
    // run once more, same seed; a finding about the API (FAILURES) is never retried.
    if (code !== 0 && text.includes('AST constructor recursion depth mismatch') && !text.includes('FAILURES ===')) {
      t.diagnostic(`schemathesis crashed on itself on ${backend} (CPython's ast in threads); running it again`);
      code = await fuzz();
      text = fs.readFileSync(output, 'utf8');
    }
    const cases = /(\d+) generated/.exec(text)?.[1] ?? '?';
    t.diagnostic(`schemathesis on ${backend}: ${cases} test cases, ${WORKERS} workers, in ${Math.round((Date.now() - started) / 1000)} s, exit ${code}`);
    // on failure, show what it found: the FAILURES section names each operation, the check and a curl to reproduce it
    const first = ['ERRORS ===', 'FAILURES ==='].map((h) => text.indexOf(h)).filter((i) => i >= 0);
    const failures = first.length ? text.slice(Math.min(...first), text.lastIndexOf('SUMMARY')) : '';
    // the server's side of each 500: its message and the frames in our code
    const internal = serverLog.filter((l) => l.startsWith('internal error')).map((l) => l.split('\n').filter((f) => !f.includes('node_modules')).slice(0, 4).join('\n'));
    assert.equal(code, 0, [
      `schemathesis found problems on ${backend} (seed ${SEED}, ${WORKERS} workers):`, failures.slice(0, 12_000), text.slice(text.lastIndexOf('SUMMARY')).slice(0, 3000),
      'internal errors the server logged:', ...internal.slice(0, 10),
    ].join('\n'));
    assert.match(text, /Test cases:/);
  });
});
