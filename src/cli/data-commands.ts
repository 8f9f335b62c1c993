/**
 * CLI commands that bring data in: `connections add|list|remove` (an admin's named PostgreSQL
 * sources) and `data upload` (a local file becomes a dataset version on the server). `run` uploads
 * through `uploadDataset` when the server cannot read the file where it is.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import { formatOf, FORMATS } from '../ingest/formats';
import type { ConnectionInfo } from '../store/connections';
import { ApiClient } from './api-client';
import { table } from './table';

const enc = encodeURIComponent;

/** Uploads a local file in the format its extension names (else CSV); returns the dataset version's id. */
export async function uploadDataset(api: ApiClient, file: string): Promise<{ id: string; rowCount: number; columnCount: number }> {
  const format = formatOf(file);
  const name = path.basename(file).replace(/[^\w. -]/g, '_').slice(0, 200);
  return api.upload(`/v1/datasets?name=${enc(name)}&format=${format.name}`, file, format.mediaTypes[0] ?? 'application/octet-stream');
}

export async function runDataCommand(command: string, rest: string[], api: ApiClient, log: (line: string) => void): Promise<boolean> {
  if (command === 'connections') {
    const [sub, ...args] = rest;
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { url: { type: 'string' } } });
    if (sub === 'list') {
      const { connections } = await api.get<{ connections: ConnectionInfo[] }>('/v1/connections');
      log(connections.length === 0 ? 'no connections' : table(['name', 'connection', 'by', 'updated'], connections.map((c) => [c.name, c.display, c.createdBy, c.updatedAt])));
      return true;
    }
    if (sub === 'add') {
      if (!positionals[0] || !values.url) throw new ConfigError('connections add needs <name> --url postgres://user:password@host/db');
      const saved = await api.put<ConnectionInfo>(`/v1/connections/${enc(positionals[0])}`, { url: values.url });
      log(`connection ${saved.name} saved (${saved.display}); pipelines name it: "data": {"connection": "${saved.name}", "query": "SELECT ..."}`);
      return true;
    }
    if (sub === 'remove') {
      if (!positionals[0]) throw new ConfigError('connections remove needs <name>');
      await api.request('DELETE', `/v1/connections/${enc(positionals[0])}`);
      log(`connection ${positionals[0]} removed`);
      return true;
    }
    throw new ConfigError('connections takes add <name> --url <postgres url> | list | remove <name>');
  }
  if (command === 'data' && rest[0] === 'upload') {
    if (!rest[1]) throw new ConfigError(`data upload needs <file> (its extension names the format: ${FORMATS.flatMap((f) => f.extensions).join(', ')}; otherwise CSV)`);
    const uploaded = await uploadDataset(api, path.resolve(rest[1]));
    log(`dataset ${uploaded.id}: ${uploaded.rowCount} rows, ${uploaded.columnCount} columns; train on it with "data": {"dataset": "${uploaded.id}"}`);
    return true;
  }
  return false;
}
