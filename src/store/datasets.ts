/**
 * Dataset versions: immutable, keyed by the digest of their canonical encoding, their rows kept as a
 * Parquet file in the artifact store (versions stored before Parquet keep their canonical CSV).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { datasetDigestYielding } from '../datasets/canonical-digest';
import { readParquet, TableSlice, writeParquet } from '../datasets/parquet-table';
import { parseCsv } from '../ml/csv';
import { ColumnStatistics, columnStatistics } from '../ml/statistics';
import type { Column, Table } from '../ml/table';
import type { ArtifactStore } from './artifacts';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface DatasetColumn {
  name: string;
  type: 'number' | 'string';
}

export interface DatasetVersion {
  id: string;
  sourceUri: string;
  sourceKind: string;
  rowCount: number;
  columns: DatasetColumn[];
  /** Bytes of the stored file. */
  byteSize: number;
  /** How its rows are stored: `parquet`, or `csv` for versions stored before Parquet (the file's digest is then the id). */
  storage: { format: 'parquet' | 'csv'; digest: string };
  statistics: ColumnStatistics[];
  /** The version its source held before it was first read (DVC-like history of one data path), if any. */
  parentId: string | null;
  createdAt: string;
}

/**
 * Records a dataset version read from a source; recording the same content again adds nothing but the
 * fact that this source held it. A new version's parent is the version last read from the same source,
 * so each path's versions form a chain (content seen before keeps its first parent: versions are immutable).
 */
export async function saveDataset(pool: Pool, d: Omit<DatasetVersion, 'createdAt' | 'parentId'>): Promise<void> {
  await pool.query(
    `INSERT INTO datasets (id, source_uri, source_kind, row_count, columns, byte_size, statistics, storage_format, storage_digest, parent_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
             (SELECT dataset_id FROM dataset_ingestions WHERE source_uri = $2 AND dataset_id <> $1 ORDER BY last_at DESC, dataset_id LIMIT 1))
     ON CONFLICT (id) DO NOTHING`,
    [d.id, d.sourceUri, d.sourceKind, d.rowCount, JSON.stringify(d.columns), d.byteSize, JSON.stringify(d.statistics), d.storage.format, d.storage.digest],
  );
  await pool.query(
    `INSERT INTO dataset_ingestions (source_uri, dataset_id) VALUES ($1, $2)
     ON CONFLICT (source_uri, dataset_id) DO UPDATE SET last_at = now()`,
    [d.sourceUri, d.id],
  );
}

/**
 * Stores a table as a dataset version: its id the digest of its canonical encoding, its rows a Parquet
 * file in the artifact store, its statistics recorded. The same content stored again is the same version.
 * Ingestion and uploads both end here.
 */
export async function storeDatasetTable(pool: Pool, artifacts: ArtifactStore, table: Table, source: { sourceUri: string; sourceKind: string }): Promise<{ datasetId: string; rowCount: number; columnCount: number; byteSize: number }> {
  const datasetId = await datasetDigestYielding(table);
  const existing = await getDataset(pool, datasetId);
  let storage = existing?.storage;
  let byteSize = existing?.byteSize ?? 0;
  if (!storage || !(await artifacts.has(storage.digest))) {
    const file = path.join(os.tmpdir(), `mlops-dataset-${randomBytes(8).toString('hex')}.parquet`);
    try {
      await writeParquet(table, file);
      byteSize = (await fs.stat(file)).size;
      storage = { format: 'parquet', digest: await artifacts.putFile(file) };
    } finally {
      await fs.rm(file, { force: true });
    }
  }
  // column by column, giving the event loop a turn between them (see datasetDigestYielding)
  const statistics: ColumnStatistics[] = [];
  for (const column of table.columns) {
    statistics.push(columnStatistics(column));
    await nextTurn();
  }
  await saveDataset(pool, {
    id: datasetId,
    sourceUri: source.sourceUri,
    sourceKind: source.sourceKind,
    rowCount: table.rowCount,
    columns: table.columns.map((c) => ({ name: c.name, type: c.kind })),
    byteSize,
    storage,
    statistics,
  });
  return { datasetId, rowCount: table.rowCount, columnCount: table.columns.length, byteSize };
}

/** Thrown when a dataset version is not recorded. */
export class DatasetNotFound extends Error {}

/**
 * A dataset version's rows as a table, column by column from its Parquet file (only the columns and
 * rows asked for); a version stored before Parquet is parsed from its canonical CSV.
 */
export async function loadDatasetTable(pool: Pool, artifacts: ArtifactStore, id: string, slice: TableSlice = {}): Promise<Table> {
  const dataset = await getDataset(pool, id);
  if (!dataset) throw new DatasetNotFound(`dataset ${id} is not registered`);
  if (dataset.storage.format === 'parquet') return readParquet(await artifacts.getFile(dataset.storage.digest), slice);
  return sliceTable(parseCsv((await artifacts.get(dataset.storage.digest)).toString('utf8')), slice);
}

function sliceTable(table: Table, slice: TableSlice): Table {
  const start = Math.min(table.rowCount, slice.offset ?? 0);
  const end = Math.min(table.rowCount, start + (slice.limit ?? table.rowCount));
  const columns = (slice.columns ? table.columns.filter((c) => slice.columns!.includes(c.name)) : table.columns).map((c): Column => (c.kind === 'number'
    ? { ...c, values: c.values.subarray(start, end) }
    : { ...c, codes: c.codes.subarray(start, end) }));
  return { rowCount: end - start, columns };
}

function toDataset(r: any): DatasetVersion {
  return {
    id: r.id, sourceUri: r.source_uri, sourceKind: r.source_kind, rowCount: r.row_count, columns: r.columns, byteSize: Number(r.byte_size),
    // no digest: the canonical CSV of a version stored before Parquet, under its id
    storage: { format: r.storage_format, digest: r.storage_digest ?? r.id }, statistics: r.statistics, parentId: r.parent_id, createdAt: new Date(r.created_at).toISOString(),
  };
}

export async function getDataset(pool: Pool, id: string): Promise<DatasetVersion | undefined> {
  const { rows } = await pool.query('SELECT * FROM datasets WHERE id = $1', [id]);
  return rows[0] && toDataset(rows[0]);
}

/**
 * Dataset versions newest first, without their statistics (ask for one version to get them); with a
 * source, the versions that source held, most recently read first.
 */
export async function listDatasets(pool: Pool, o: { source?: string; limit?: number } = {}): Promise<Omit<DatasetVersion, 'statistics'>[]> {
  const columns = `d.id, d.source_uri, d.source_kind, d.row_count, d.columns, d.byte_size, d.storage_format, d.storage_digest, d.parent_id, d.created_at, '[]'::jsonb AS statistics`;
  const { rows } = o.source
    ? await pool.query(
      `SELECT ${columns} FROM datasets d JOIN dataset_ingestions i ON i.dataset_id = d.id
        WHERE i.source_uri = $1 ORDER BY i.last_at DESC, d.id LIMIT $2`, [o.source, o.limit ?? 100])
    : await pool.query(`SELECT ${columns} FROM datasets d ORDER BY d.created_at DESC, d.id LIMIT $1`, [o.limit ?? 100]);
  return rows.map((r) => { const { statistics: _s, ...rest } = toDataset(r); return rest; });
}

/** Versions derived from this one (later versions of the same source). */
export async function listChildDatasets(pool: Pool, id: string): Promise<string[]> {
  const { rows } = await pool.query('SELECT id FROM datasets WHERE parent_id = $1 ORDER BY created_at', [id]);
  return rows.map((r) => r.id);
}
