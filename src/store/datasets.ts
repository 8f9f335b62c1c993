/** Dataset versions: immutable, keyed by the sha256 of their canonical CSV. */
import { Pool } from 'pg';
import { toCanonicalCsv } from '../ml/csv';
import { ColumnStatistics, tableStatistics } from '../ml/statistics';
import type { Table } from '../ml/table';
import type { ArtifactStore } from './artifacts';

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
  byteSize: number;
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
    `INSERT INTO datasets (id, source_uri, source_kind, row_count, columns, byte_size, statistics, parent_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7,
             (SELECT dataset_id FROM dataset_ingestions WHERE source_uri = $2 AND dataset_id <> $1 ORDER BY last_at DESC, dataset_id LIMIT 1))
     ON CONFLICT (id) DO NOTHING`,
    [d.id, d.sourceUri, d.sourceKind, d.rowCount, JSON.stringify(d.columns), d.byteSize, JSON.stringify(d.statistics)],
  );
  await pool.query(
    `INSERT INTO dataset_ingestions (source_uri, dataset_id) VALUES ($1, $2)
     ON CONFLICT (source_uri, dataset_id) DO UPDATE SET last_at = now()`,
    [d.sourceUri, d.id],
  );
}

/**
 * Stores a table as a dataset version: its canonical CSV content-addressed, its statistics recorded.
 * The same content stored again is the same version. Ingestion and uploads both end here.
 */
export async function storeDatasetTable(pool: Pool, artifacts: ArtifactStore, table: Table, source: { sourceUri: string; sourceKind: string }): Promise<{ datasetId: string; rowCount: number; columnCount: number; byteSize: number }> {
  const canonical = Buffer.from(toCanonicalCsv(table), 'utf8');
  const datasetId = await artifacts.put(canonical);
  await saveDataset(pool, {
    id: datasetId,
    sourceUri: source.sourceUri,
    sourceKind: source.sourceKind,
    rowCount: table.rowCount,
    columns: table.columns.map((c) => ({ name: c.name, type: c.kind })),
    byteSize: canonical.length,
    statistics: tableStatistics(table),
  });
  return { datasetId, rowCount: table.rowCount, columnCount: table.columns.length, byteSize: canonical.length };
}

function toDataset(r: any): DatasetVersion {
  return { id: r.id, sourceUri: r.source_uri, sourceKind: r.source_kind, rowCount: r.row_count, columns: r.columns, byteSize: Number(r.byte_size), statistics: r.statistics, parentId: r.parent_id, createdAt: new Date(r.created_at).toISOString() };
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
  const columns = `d.id, d.source_uri, d.source_kind, d.row_count, d.columns, d.byte_size, d.parent_id, d.created_at, '[]'::jsonb AS statistics`;
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
