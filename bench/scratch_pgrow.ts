import fs from 'node:fs';
import { Pool } from 'pg';
import { v7 } from 'uuid';
const pool = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:18500/postgres', max: 1 });
const cpu = (pid: number) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); const x = f.slice(f.lastIndexOf(')') + 2).split(' '); return (Number(x[11]) + Number(x[12])) * 10; };
const row = () => Buffer.from(JSON.stringify({ id: v7(), model: 'cancer', version: 1, instance: Array.from({ length: 30 }, () => Math.round(Math.random() * 1e4) / 100), output: { label: 'M', probabilities: { M: Math.random(), B: Math.random() } }, subject: null, key_id: null }));
function arr(rows: Buffer[]) { return Buffer.concat([Buffer.from('['), ...rows.flatMap((r, i) => i ? [Buffer.from(','), r] : [r]), Buffer.from(']')]); }
async function main() {
  const c = await pool.connect();
  const pid = (await c.query('select pg_backend_pid() p')).rows[0].p;
  const variants: Record<string, { ddl: string; sql: string }> = {
    current: { ddl: 'CREATE TABLE t (LIKE prediction_log INCLUDING ALL)', sql: `INSERT INTO t (id, model_name, version, instance, output, subject, key_id) SELECT id, model, version, instance, output, subject, key_id FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance json, output json, subject text, key_id text) ON CONFLICT DO NOTHING` },
    noconflict: { ddl: 'CREATE TABLE t (LIKE prediction_log INCLUDING ALL)', sql: `INSERT INTO t (id, model_name, version, instance, output, subject, key_id) SELECT id, model, version, instance, output, subject, key_id FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance json, output json, subject text, key_id text)` },
    noindex: { ddl: 'CREATE TABLE t (LIKE prediction_log INCLUDING DEFAULTS)', sql: `INSERT INTO t (id, model_name, version, instance, output, subject, key_id) SELECT id, model, version, instance, output, subject, key_id FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance json, output json, subject text, key_id text)` },
    textcols: { ddl: 'CREATE TABLE t (LIKE prediction_log INCLUDING ALL); ALTER TABLE t ALTER instance TYPE text, ALTER output TYPE text', sql: `INSERT INTO t (id, model_name, version, instance, output, subject, key_id) SELECT id, model, version, instance, output, subject, key_id FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance text, output text, subject text, key_id text) ON CONFLICT DO NOTHING` },
  };
  for (const round of [1, 2]) for (const [name, v] of Object.entries(variants)) {
    await c.query('DROP TABLE IF EXISTS t'); await c.query(v.ddl);
    const batches = Array.from({ length: 100 }, () => arr(Array.from({ length: 1000 }, row)));
    const c0 = cpu(pid); const t0 = performance.now();
    for (const b of batches) await c.query(v.sql, [b]);
    console.log(round, name, ((cpu(pid) - c0) * 1000 / 100000).toFixed(1), 'µs CPU/row;', ((performance.now() - t0) * 1000 / 100000).toFixed(1), 'µs wall/row');
  }
  await c.query('DROP TABLE IF EXISTS t'); c.release(); await pool.end();
}
void main();
