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
  createdAt: string;
}

/** Records a dataset version; recording the same content again changes nothing. */
export async function saveDataset(pool: Pool, d: Omit<DatasetVersion, 'createdAt'>): Promise<void> {
  await pool.query(
    `INSERT INTO datasets (id, source_uri, source_kind, row_count, columns, byte_size, statistics)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
    [d.id, d.sourceUri, d.sourceKind, d.rowCount, JSON.stringify(d.columns), d.byteSize, JSON.stringify(d.statistics)],
  );
}

export async function getDataset(pool: Pool, id: string): Promise<DatasetVersion | undefined> {
  const { rows } = await pool.query('SELECT * FROM datasets WHERE id = $1', [id]);
  const r = rows[0];
  return r && { id: r.id, sourceUri: r.source_uri, sourceKind: r.source_kind, rowCount: r.row_count, columns: r.columns, byteSize: Number(r.byte_size), statistics: r.statistics, createdAt: new Date(r.created_at).toISOString() };
}
