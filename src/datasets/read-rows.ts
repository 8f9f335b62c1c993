/**
 * Reads a row range of a stored dataset version: the one way batch scoring reads its input, so the
 * storage format can change behind it. Today a version is a canonical CSV artifact, parsed whole and
 * then sliced; the parsed table of the last version read is kept, so the chunks of one job (which read
 * consecutive ranges of the same version on the same worker) parse the file once, not once per chunk.
 * A columnar store reads only the range instead and needs no such cache.
 */
import { parseCsv } from '../ml/csv';
import type { Column, Table } from '../ml/table';
import type { ArtifactStore } from '../store/artifacts';
import type { Repositories } from '../store/repositories';

/** A dataset id that names no stored version: the caller's mistake, not worth a retry. */
export class DatasetNotFound extends Error {}

let lastRead: { datasetId: string; table: Promise<Table> } | undefined;

async function wholeTable(deps: { repos: Repositories; artifacts: ArtifactStore }, datasetId: string): Promise<Table> {
  if (lastRead?.datasetId !== datasetId) {
    const table = (async () => {
      if (!(await deps.repos.datasets.getDataset(datasetId))) throw new DatasetNotFound(`dataset ${datasetId} is not registered`);
      return parseCsv((await deps.artifacts.get(datasetId)).toString('utf8'));
    })();
    lastRead = { datasetId, table };
    // a failed read is not kept: the next call tries again
    table.catch(() => { if (lastRead?.table === table) lastRead = undefined; });
  }
  return lastRead!.table;
}

/** Rows [offset, offset + limit) of a column, as views (no copy). */
function sliceColumn(column: Column, from: number, to: number): Column {
  return column.kind === 'number'
    ? { name: column.name, kind: 'number', values: column.values.subarray(from, to) }
    : { name: column.name, kind: 'string', codes: column.codes.subarray(from, to), dictionary: column.dictionary };
}

/** Rows [offset, offset + limit) of the dataset version, every column; fewer past its end. */
export async function readDatasetRows(deps: { repos: Repositories; artifacts: ArtifactStore }, datasetId: string, range: { offset: number; limit: number }): Promise<Table> {
  if (!Number.isInteger(range.offset) || range.offset < 0 || !Number.isInteger(range.limit) || range.limit < 0) {
    throw new RangeError(`a row range is a whole offset and limit, not ${JSON.stringify(range)}`);
  }
  const table = await wholeTable(deps, datasetId);
  const from = Math.min(range.offset, table.rowCount);
  const to = Math.min(from + range.limit, table.rowCount);
  return { rowCount: to - from, columns: table.columns.map((c) => sliceColumn(c, from, to)) };
}
