/** Dataset versions: immutable, keyed by the sha256 of their canonical CSV. */
import { Pool } from 'pg';
import type { ColumnStatistics } from '../ml/statistics';

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
  /** The version this source held before (DVC-like history of one data path), if any. */
  parentId: string | null;
  createdAt: string;
}

/**
 * Records a dataset version; recording the same content again changes nothing. Its parent is the
 * latest other version read from the same source, so a path's versions form a chain.
 */
export async function saveDataset(pool: Pool, d: Omit<DatasetVersion, 'createdAt' | 'parentId'>): Promise<void> {
  await pool.query(
    `INSERT INTO datasets (id, source_uri, source_kind, row_count, columns, byte_size, statistics, parent_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7,
             (SELECT id FROM datasets WHERE source_uri = $2 AND id <> $1 ORDER BY created_at DESC, id LIMIT 1))
     ON CONFLICT (id) DO NOTHING`,
    [d.id, d.sourceUri, d.sourceKind, d.rowCount, JSON.stringify(d.columns), d.byteSize, JSON.stringify(d.statistics)],
  );
}

function toDataset(r: any): DatasetVersion {
  return { id: r.id, sourceUri: r.source_uri, sourceKind: r.source_kind, rowCount: r.row_count, columns: r.columns, byteSize: Number(r.byte_size), statistics: r.statistics, parentId: r.parent_id, createdAt: new Date(r.created_at).toISOString() };
}

export async function getDataset(pool: Pool, id: string): Promise<DatasetVersion | undefined> {
  const { rows } = await pool.query('SELECT * FROM datasets WHERE id = $1', [id]);
  return rows[0] && toDataset(rows[0]);
}

/** Dataset versions newest first, without their statistics (ask for one version to get them). */
export async function listDatasets(pool: Pool, o: { source?: string; limit?: number } = {}): Promise<Omit<DatasetVersion, 'statistics'>[]> {
  const { rows } = await pool.query(
    `SELECT id, source_uri, source_kind, row_count, columns, byte_size, parent_id, created_at, '[]'::jsonb AS statistics FROM datasets
      WHERE ($1::text IS NULL OR source_uri = $1) ORDER BY created_at DESC, id LIMIT $2`,
    [o.source ?? null, o.limit ?? 100],
  );
  return rows.map((r) => { const { statistics: _s, ...rest } = toDataset(r); return rest; });
}

/** Versions derived from this one (later versions of the same source). */
export async function listChildDatasets(pool: Pool, id: string): Promise<string[]> {
  const { rows } = await pool.query('SELECT id FROM datasets WHERE parent_id = $1 ORDER BY created_at', [id]);
  return rows.map((r) => r.id);
}
