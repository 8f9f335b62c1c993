/**
 * One ONNX run over some rows of a table, fed as predict feeds a request: the platform's own models
 * through their input layout, an imported graph through its own inputs. Evaluation and batch scoring
 * both score tables this way.
 */
import type { ImportedSignature } from '../domain/model-version';
import type { Task } from '../ml/task';
import type { Table } from '../ml/table';
import { InputLayout, tableFeeds } from './feeds';
import { importedFeeds, importedTableRows } from './imported-feeds';
import { runImported } from './imported-outputs';
import { runClassifier, runRegressor, type Session } from './onnx-runner';

/** Row-major answers of one run: class probabilities (width = classes) or values (width 1), and an imported graph's own labels. */
export interface TableAnswer { values: Float32Array | Float64Array; width: number; labels?: string[] }

/** Runs the rows `rows` of the table through the session; `model` is a platform model's layout or an imported graph's signature. */
export async function runTableRows(session: Session, model: InputLayout | ImportedSignature, task: Task, table: Table, rows: Int32Array): Promise<TableAnswer> {
  if ('source' in model) {
    const data = importedTableRows({ inputs: model.inputs }, table, rows);
    return runImported(session, model, importedFeeds(model.inputs, data), data.rows);
  }
  const feeds = tableFeeds(model, table, rows);
  if (task === 'regression') return { values: await runRegressor(session, feeds), width: 1 };
  const { probabilities, classes } = await runClassifier(session, feeds);
  return { values: probabilities, width: classes };
}
