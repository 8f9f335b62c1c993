/**
 * Steady load through the proxy while a fault happens: a pipeline started every few seconds (each its
 * own model, so "one version and one deployment per run" is a count per model), and predictions at a
 * fixed rate against a model deployed before the load began. Everything is recorded with its time, so
 * a test can check what failed, where, and when the platform was whole again.
 *
 * A pipeline start that fails (the API answered 5xx or the proxy 502) is repeated with the same
 * Idempotency-Key, as a careful client would: the same key names the same run, so a start that did reach
 * Temporal before its answer was lost is not started twice.
 */
import type { ChaosPlatform } from './platform';
import { BREAST_CANCER } from '../helpers/pipeline-env';

export interface StartedRun {
  model: string;
  key: string;
  /** The run id, once a start was accepted. */
  id?: string;
  /** Attempts and their answers (status, error code), in order. */
  attempts: { at: number; status: number; code?: string }[];
  acceptedAt?: number;
  /** Its final status (from GET /v1/pipelines/:id), once it ended, and when Temporal closed it. */
  final?: any;
  endedAt?: number;
}

export interface PredictionRecord { sentAt: number; endedAt: number; status: number; upstream?: string }

export const FINAL_STATES = ['deployed', 'rejected', 'failed'];

export class SteadyLoad {
  readonly runs: StartedRun[] = [];
  readonly predictions: PredictionRecord[] = [];
  private timers: NodeJS.Timeout[] = [];
  private pending = new Set<Promise<unknown>>();

  constructor(
    private readonly platform: ChaosPlatform,
    private readonly o: { label: string; servedModel: string; instance: Record<string, number>; pipelineEveryMs?: number; predictionsPerSecond?: number },
  ) {}

  start(): void {
    this.timers.push(setInterval(() => this.track(this.predict()), 1000 / (this.o.predictionsPerSecond ?? 20)));
    this.timers.push(setInterval(() => this.track(this.startPipeline()), this.o.pipelineEveryMs ?? 4000));
    this.track(this.startPipeline());
  }

  /** Stops starting new work and waits for the requests already sent. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async predict(): Promise<void> {
    const sentAt = Date.now();
    // status 0: the proxy itself did not answer, counted as a failure like any other
    const r = await this.platform.call('POST', `/v1/models/${this.o.servedModel}/predict`, { instances: [this.o.instance] }).catch(() => ({ status: 0, upstream: undefined }));
    this.predictions.push({ sentAt, endedAt: Date.now(), status: r.status, upstream: r.upstream });
  }

  private async startPipeline(): Promise<void> {
    await this.startRun(`${this.o.label}-${this.runs.length + 1}`);
  }

  /**
   * Starts one pipeline for `model` (the small dataset unless `body` says otherwise) and records it with
   * the load's runs, so the checks cover it too.
   */
  async startRun(model: string, body: Record<string, unknown> = {}): Promise<StartedRun> {
    const run: StartedRun = { model, key: `${model}-${Date.now()}`, attempts: [] };
    this.runs.push(run);
    await this.send(run, { model, data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto', thresholds: { auc: 0.9 } }, ...body });
    return run;
  }

  private async send(run: StartedRun, body: Record<string, unknown>): Promise<void> {
    // a start refused while a part is down is repeated for up to two minutes, then given up (recorded)
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      const at = Date.now();
      try {
        const r = await this.platform.call('POST', '/v1/pipelines', body, { headers: { 'idempotency-key': run.key } });
        run.attempts.push({ at, status: r.status, code: r.body?.error?.code });
        if (r.status === 202) { run.id = r.body.id; run.acceptedAt = Date.now(); return; }
        if (r.status < 500) return; // refused for a reason a repeat cannot change: the checks report it
      } catch (err) {
        run.attempts.push({ at, status: 0, code: (err as Error).message });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Waits until every accepted run has ended, polling through the proxy; returns the runs. */
  async settle(timeoutMs = 600_000): Promise<StartedRun[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = this.runs.filter((r) => r.id && !r.final);
      if (open.length === 0) return this.runs;
      if (Date.now() > deadline) throw new Error(`runs still not ended after ${timeoutMs / 1000} s: ${open.map((r) => r.id).join(', ')}`);
      await this.observeEnds();
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  /** Records the runs that ended since the last look, with the time Temporal closed them. */
  async observeEnds(): Promise<void> {
    for (const r of this.runs.filter((x) => x.id && !x.final)) {
      const reply = await this.platform.call('GET', `/v1/pipelines/${r.id}`).catch(() => undefined);
      if (reply?.status !== 200 || !FINAL_STATES.includes(reply.body.state)) continue;
      const closed = await this.platform.temporal.workflow.getHandle(r.id!).describe().then((d) => d.closeTime, () => undefined);
      if (!closed) continue; // the workflow returns just after its status says it ended
      r.final = reply.body;
      r.endedAt = closed.getTime();
    }
  }
}
