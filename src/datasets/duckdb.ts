/**
 * The process's one DuckDB: an in-memory database used as a columnar engine (Parquet write and read,
 * CSV, Parquet and JSON readers on every core), never as a store. Created on first use.
 */
import os from 'node:os';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

let instance: Promise<DuckDBInstance> | undefined;

/** A fresh connection to the process's DuckDB; the caller closes it (closeSync). */
export async function duckdb(): Promise<DuckDBConnection> {
  instance ??= DuckDBInstance.create(':memory:', { threads: String(Math.max(1, os.availableParallelism())) });
  return (await instance).connect();
}

/** A string as a SQL literal: DuckDB's readers take file names in SQL, never from a request unchecked. */
export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A name as a SQL identifier. */
export const sqlName = (s: string) => `"${s.replace(/"/g, '""')}"`;
