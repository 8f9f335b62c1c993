/** JSON instances from a request, checked against a version's signature and turned into input tensors. */
import { ApiError } from '../errors';
import type { ModelSignature } from '../domain/model-version';
import { Feeds, feedsFor, InputLayout, layoutOf } from './feeds';

const MAX_REPORTED_PROBLEMS = 20;

/** Rows checked against a signature, as the arrays tensors are made of (see feedsFor). */
export interface Inputs {
  layout: InputLayout;
  rows: number;
  /** Row-major, NaN where a value is missing. */
  numeric: Float32Array;
  /** Per categorical feature, one category per row ('' where missing). */
  categorical: string[][];
}

/** Turns JSON instances into the model's input tensors, or explains every problem (up to 20). */
export function instancesToFeeds(instances: unknown, signature: ModelSignature, maxBatch: number): { feeds: Feeds; rows: number } {
  const { layout, rows, numeric, categorical } = checkInstances(instances, signature, maxBatch);
  return { feeds: feedsFor(layout, rows, numeric, categorical), rows };
}

/** What checking needs from a signature, worked out once per signature rather than per request. */
interface Checker {
  layout: InputLayout;
  /** Every feature, numeric first. */
  features: string[];
  /** Features and columns the model accepts and ignores. */
  known: Set<string>;
}

const checkers = new WeakMap<ModelSignature, Checker>();

function checkerOf(signature: ModelSignature): Checker {
  let checker = checkers.get(signature);
  if (!checker) {
    const layout = layoutOf(signature);
    const features = [...layout.numeric, ...layout.categorical];
    checker = { layout, features, known: new Set([...features, ...(signature.unused ?? [])]) };
    checkers.set(signature, checker);
  }
  return checker;
}

/**
 * Checks JSON instances against a signature and reads them into input arrays, or explains every problem
 * (up to 20). A valid row costs no allocation beyond the arrays returned: this runs on every request.
 */
export function checkInstances(instances: unknown, signature: ModelSignature, maxBatch: number): Inputs {
  if (!Array.isArray(instances)) throw new ApiError('invalid_request', '"instances" must be an array of objects, one per row');
  if (instances.length === 0) throw new ApiError('invalid_request', '"instances" is empty; send at least one row');
  if (instances.length > maxBatch) throw new ApiError('invalid_request', `"instances" has ${instances.length} rows; at most ${maxBatch} are allowed per request`);
  const { layout, features, known } = checkerOf(signature);
  const dn = layout.numeric.length;
  const numeric = new Float32Array(instances.length * dn);
  const categorical = layout.categorical.map(() => new Array<string>(instances.length).fill(''));
  const problems: string[] = [];
  for (let i = 0; i < instances.length && problems.length < MAX_REPORTED_PROBLEMS; i++) {
    const row = instances[i];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      problems.push(`instances[${i}] must be an object mapping feature names to values`);
      continue;
    }
    const record = row as Record<string, unknown>;
    const firstProblem = problems.length;
    let present = 0;
    let extra = false;
    for (const k in record) {
      if (!known.has(k)) extra = true;
    }
    for (let j = 0; j < dn; j++) {
      const value = record[layout.numeric[j]];
      if (value === undefined) continue;
      present++;
      if (typeof value === 'number' && Number.isFinite(value)) numeric[i * dn + j] = value;
      else if (value === null) numeric[i * dn + j] = NaN; // missing: imputed inside the model
      else problems.push(`instances[${i}].${layout.numeric[j]} must be a number or null, got ${typeof value === 'number' ? String(value) : typeof value}`);
    }
    for (let j = 0; j < layout.categorical.length; j++) {
      const name = layout.categorical[j];
      const value = record[name];
      if (value === undefined) continue;
      present++;
      if (typeof value === 'string') categorical[j][i] = value.trim();
      else if (typeof value === 'number' && Number.isFinite(value)) categorical[j][i] = String(value);
      else if (value !== null) problems.push(`instances[${i}].${name} must be a string (a category) or null, got ${typeof value}`);
    }
    // the lists of what is missing or unknown are only built for a row that has a problem; they come
    // before the row's type problems
    if (present < features.length || extra) {
      const shape: string[] = [];
      if (present < features.length) shape.push(`instances[${i}] is missing feature(s): ${features.filter((f) => record[f] === undefined).join(', ')}`);
      if (extra) shape.push(`instances[${i}] has unknown feature(s): ${Object.keys(record).filter((k) => !known.has(k)).join(', ')} (the model takes ${features.join(', ')})`);
      problems.splice(firstProblem, 0, ...shape);
    }
  }
  if (problems.length > 0) throw new ApiError('invalid_request', `invalid instances: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, { problems });
  return { layout, rows: instances.length, numeric, categorical };
}
