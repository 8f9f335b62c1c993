/**
 * A dependency down longer than a few retries (src/activities/outages.ts): the platform's database goes
 * away for longer than five attempts take, just as an approved run records its decision, and the run
 * still deploys once it is back; a fault that is not an outage is still final on its fifth attempt.
 * The outage is real: the activities reach PostgreSQL through a TCP relay that the test closes, so they
 * get the connection errors a restarting server gives.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/activity';
import { createPool } from '../src/store/db';
import * as registry from '../src/store/registry';
import { ArtifactStoreFull } from '../src/store/artifacts';
import { finalOnFifthFault, isDependencyOutage } from '../src/activities/outages';
import { approvalSignal, PipelineStatus } from '../src/workflows/definitions';
import { BREAST_CANCER, createPipelineTestEnv, PipelineTestEnv, waitForStatus } from './helpers/pipeline-env';
import { eventually } from './helpers/eventually';

/** A TCP relay to the database that can be cut (connections dropped, new ones refused) and restored on the same port. */
async function databaseRelay(target: string): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const to = new URL(target);
  const sockets = new Set<net.Socket>();
  const serve = () => net.createServer((client) => {
    const upstream = net.connect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); }
    client.pipe(upstream).pipe(client);
  });
  let server = serve();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const cut = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    url: url.toString(),
    cut,
    restore: async () => { server = serve(); await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r())); },
    close: async () => { if (server.listening) await cut(); },
  };
}

describe('outages of a dependency', () => {
  let env: PipelineTestEnv;
  let relay: Awaited<ReturnType<typeof databaseRelay>>;
  let pool: Pool;

  before(async () => {
    env = await createPipelineTestEnv({
      activityPool: async (db) => {
        relay = await databaseRelay(db.url);
        pool = createPool(relay.url);
        return pool;
      },
    });
  });
  after(async () => {
    // the relay's connections first: the test database is dropped only once nothing holds it
    await relay?.close();
    await pool?.end();
    await env?.close();
  });

  it('when the database is down longer than five attempts take as an approval is recorded, then the run waits it out and deploys', async () => {
    const handle = await env.start({ data: { uri: BREAST_CANCER }, target: 'diagnosis', model: 'outage', approval: { mode: 'manual', timeout: '1 hour' } });
    await waitForStatus(handle, (s) => s.state === 'awaiting_approval');
    await relay.cut();
    await handle.signal(approvalSignal, { decision: 'approve', by: 'ada', comment: 'fine' });
    // past the fifth attempt, where the run used to fail: the decision is still being retried
    const pending = await eventually('recordDecision retried past its fifth attempt', async () => {
      const a = ((await handle.describe()).raw.pendingActivities ?? []).find((p) => p.activityType?.name === 'recordDecision');
      return a && (a.attempt ?? 0) >= 6 ? a : undefined;
    }, { everyMs: 500, timeoutMs: 90_000 });
    assert.match(pending.lastFailure?.message ?? '', /ECONNREFUSED|Connection terminated|connect/i, JSON.stringify(pending.lastFailure));
    await relay.restore();
    const result = (await handle.result()) as PipelineStatus;
    assert.equal(result.state, 'deployed', JSON.stringify(result));
    assert.equal((await registry.getAliasVersion(env.db.pool, 'outage', 'production'))?.version, result.modelVersion);
    const decided = await env.db.pool.query("SELECT actor FROM audit_events WHERE subject LIKE 'outage@%' AND action = 'model.approved'");
    assert.deepEqual(decided.rows.map((r) => r.actor), ['ada'], 'the decision recorded once, as made');
  });

  it('tells outages from faults, and makes a fault final on its fifth attempt, an outage never', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const lost = new Error('Connection terminated unexpectedly');
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    const wrapped = new Error('could not store', { cause: refused });
    for (const e of [refused, shutdown, lost, unavailable, wrapped, new ArtifactStoreFull('the artifact store is out of space (ENOSPC)')]) assert.ok(isDependencyOutage(e), e.message);
    const faults = [new TypeError('x is undefined'), Object.assign(new Error('duplicate key'), { code: '23505' }), ApplicationFailure.retryable('odd', 'Odd'), new Error('connect ECONNREFUSED in a message only')];
    for (const e of faults) assert.ok(!isDependencyOutage(e), e.message);

    const onAttempt = (attempt: number, err: unknown) => new MockActivityEnvironment({ attempt }).run(async () => finalOnFifthFault(err));
    assert.equal(await onAttempt(4, faults[0]), faults[0], 'retried before the fifth');
    const final = await onAttempt(5, faults[0]) as ApplicationFailure;
    assert.ok(final instanceof ApplicationFailure && final.nonRetryable, 'final on the fifth');
    assert.deepEqual([final.message, final.type, final.cause], ['x is undefined', 'TypeError', faults[0]]);
    const typed = await onAttempt(5, faults[2]) as ApplicationFailure;
    assert.deepEqual([typed.type, typed.nonRetryable], ['Odd', true]);
    assert.equal(await onAttempt(29, refused), refused, 'an outage is retried as long as the policy allows');
  });
});
