/** Checks a dataset against what training needs, and says plainly what is wrong. */
import { setImmediate } from 'node:timers/promises';
import { labelCounts } from './target';
import { Column, columnLength, getColumn, isMissing, Table } from './table';
import { parseDerived } from './expressions';
import { defaultKind, familyOf, ModelKind } from './families';
import { inferTask, MAX_CLASSES, Task } from './task';

/** Most categories a text feature may have to be one-hot encoded. */
export const MAX_CATEGORIES = 50;

export type Severity = 'error' | 'warning';

export interface ValidationIssue {
  severity: Severity;
  code: string;
  column?: string;
  message: string;
}

export interface ColumnSummary {
  name: string;
  type: 'number' | 'string';
  missingRatio: number;
  /** Distinct present values; for numbers, counted up to MAX_CATEGORIES + 1. */
  distinct: number;
}

export interface ValidationReport {
  ok: boolean;
  rowCount: number;
  target: string;
  /** The learning problem the target poses, and the model family that will learn it. */
  task?: Task;
  kind?: ModelKind;
  /** Feature columns that training will use, in order: the numeric ones, then the text ones (one-hot). */
  features: string[];
  numeric: string[];
  categorical: string[];
  classes: { label: string; count: number }[];
  columns: ColumnSummary[];
  issues: ValidationIssue[];
}

export interface ValidationRules {
  target: string;
  /** Features to use; when absent, every numeric column except the target. */
  features?: string[];
  minRows?: number;
  /** Largest share of missing values a feature may have. */
  maxMissingRatio?: number;
  /** Fewest rows each class needs, so every split holds every class. */
  minClassCount?: number;
  /** Model family asked for; when absent, the one that fits the target. */
  kind?: ModelKind;
  /** Derived features, `name = expression`; their columns join the numeric features. */
  derive?: string[];
  /** Columns whose values slice the evaluation; each needs few distinct values. */
  sliceBy?: string[];
}

function summarize(column: Column): ColumnSummary {
  const n = columnLength(column);
  let missing = 0;
  for (let i = 0; i < n; i++) if (isMissing(column, i)) missing++;
  return { name: column.name, type: column.kind, missingRatio: n > 0 ? missing / n : 0, distinct: column.kind === 'string' ? column.dictionary.length : distinctNumbers(column.values) };
}

/**
 * Distinct numbers, counted up to one more than MAX_CATEGORIES: every rule reads the count against
 * thresholds at most that, and counting all of 10M values in a Set took minutes.
 */
function distinctNumbers(values: Float64Array): number {
  const seen = new Set<number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === v && !seen.has(v)) {
      seen.add(v);
      if (seen.size > MAX_CATEGORIES) break;
    }
  }
  return seen.size;
}

/**
 * Validates a table for learning `rules.target`: infers the task from the target (or checks it against
 * the requested model family), then checks rows, classes and features. Never throws for bad data.
 */
/**
 * `validateForTraining`, giving the event loop a turn after each column's summary: millions of rows
 * take seconds, and heartbeats (and, in `mlops up`, API requests) share the thread.
 */
export async function validateForTrainingYielding(table: Table, rules: ValidationRules): Promise<ValidationReport> {
  const summaries: ColumnSummary[] = [];
  for (const column of table.columns) {
    summaries.push(summarize(column));
    await setImmediate();
  }
  return validateForTraining(table, rules, summaries);
}

export function validateForTraining(table: Table, rules: ValidationRules, summaries = table.columns.map(summarize)): ValidationReport {
  const minRows = rules.minRows ?? 20;
  const maxMissingRatio = rules.maxMissingRatio ?? 0.5;
  const minClassCount = rules.minClassCount ?? 5;
  const issues: ValidationIssue[] = [];
  const error = (code: string, message: string, column?: string) => issues.push({ severity: 'error', code, message, column });
  const warn = (code: string, message: string, column?: string) => issues.push({ severity: 'warning', code, message, column });
  const columns = summaries;
  const summaryOf = (name: string) => columns.find((c) => c.name === name);

  if (table.rowCount < minRows) error('too_few_rows', `the dataset has ${table.rowCount} rows; at least ${minRows} are needed`);

  const targetColumn = getColumn(table, rules.target);
  let classes: { label: string; count: number }[] = [];
  let task: Task | undefined;
  let kind: ModelKind | undefined;
  if (!targetColumn) {
    error('missing_target', `target column "${rules.target}" is not in the data (columns: ${table.columns.map((c) => c.name).join(', ')})`, rules.target);
  } else {
    classes = [...labelCounts(targetColumn)].map(([label, count]) => ({ label, count }));
    const missingTarget = summaryOf(rules.target)!.missingRatio;
    if (missingTarget === 1) error('target_all_missing', `target column "${rules.target}" has no values`, rules.target);
    else if (missingTarget > 0) warn('target_missing', `${(missingTarget * 100).toFixed(1)}% of rows have no "${rules.target}" label and are left out`, rules.target);
    if (missingTarget < 1) {
      task = inferTask(targetColumn);
      if (rules.kind) {
        const allowed = familyOf(rules.kind).tasks;
        // A numeric target is read the way the family can learn it: as classes by a classifier that
        // learns many (a few distinct numbers), as values by a regressor. Two labels stay two labels.
        if (!allowed.includes(task) && targetColumn.kind === 'number') {
          if (task === 'regression' && allowed.includes('multiclass') && classes.length <= MAX_CLASSES) task = 'multiclass';
          else if (task !== 'regression' && allowed.includes('regression')) task = 'regression';
        }
        if (!allowed.includes(task)) {
          const what = task === 'regression' ? 'a numeric target' : `${classes.length} classes`;
          error(task === 'multiclass' || (task === 'regression' && !allowed.includes('multiclass')) ? 'not_binary' : 'kind_mismatch',
            `"${rules.kind}" learns ${allowed.join(' or ')} targets, but "${rules.target}" has ${what} (${classes.slice(0, 10).map((c) => c.label).join(', ')}${classes.length > 10 ? ', ...' : ''})`, rules.target);
        }
        kind = rules.kind;
      } else {
        kind = defaultKind(task);
      }
      if (task !== 'regression') {
        if (classes.length < 2) error('one_class', `target "${rules.target}" has a single class ("${classes[0]?.label}"); a classifier needs at least two`, rules.target);
        if (classes.length > MAX_CLASSES) error('too_many_classes', `target "${rules.target}" has ${classes.length} classes; at most ${MAX_CLASSES} are supported (a numeric target is learned by regression)`, rules.target);
        for (const c of classes) {
          if (c.count < minClassCount && classes.length <= MAX_CLASSES) error('rare_class', `class "${c.label}" of "${rules.target}" has ${c.count} rows; each class needs at least ${minClassCount}`, rules.target);
        }
      } else if (summaryOf(rules.target)!.distinct < 2) {
        error('constant_target', `target "${rules.target}" has a single value; there is nothing to learn`, rules.target);
      }
    }
  }

  // Text columns become one-hot features unless they look like identifiers or free text.
  const categoryTrouble = (c: ColumnSummary): string | undefined => {
    const present = Math.round(table.rowCount * (1 - c.missingRatio));
    if (c.distinct > MAX_CATEGORIES) return `${c.distinct} distinct values; at most ${MAX_CATEGORIES} categories are one-hot encoded`;
    if (present >= 20 && c.distinct > present / 2) return `${c.distinct} distinct values in ${present} rows, which looks like an identifier or free text`;
    return undefined;
  };
  const numeric: string[] = [];
  const categorical: string[] = [];
  if (rules.features) {
    for (const name of rules.features) {
      const column = getColumn(table, name);
      const trouble = column?.kind === 'string' ? categoryTrouble(summaryOf(name)!) : undefined;
      if (!column) error('missing_feature', `feature column "${name}" is not in the data`, name);
      else if (name === rules.target) error('target_as_feature', `"${name}" is the target and cannot also be a feature`, name);
      else if (trouble) error('too_many_categories', `text feature "${name}" has ${trouble}`, name);
      else (column.kind === 'number' ? numeric : categorical).push(name);
    }
  } else {
    for (const c of table.columns) {
      if (c.name === rules.target) continue;
      if (c.kind === 'number') { numeric.push(c.name); continue; }
      const trouble = categoryTrouble(summaryOf(c.name)!);
      if (trouble) warn('text_column_ignored', `column "${c.name}" holds text with ${trouble}; it is not used as a feature`, c.name);
      else categorical.push(c.name);
    }
  }
  const names = new Set(table.columns.map((c) => c.name));
  for (const text of rules.derive ?? []) {
    let feature;
    try {
      feature = parseDerived(text);
    } catch (err) {
      error('invalid_expression', (err as Error).message);
      continue;
    }
    if (names.has(feature.name)) { error('derived_name_taken', `derived feature "${feature.name}" would replace a column of the same name`, feature.name); continue; }
    for (const input of feature.inputs) {
      const column = getColumn(table, input);
      if (names.has(input) && !column) continue; // an earlier derived feature
      if (!column) error('unknown_column', `the expression for "${feature.name}" names "${input}", which is not a column (columns: ${table.columns.map((c) => c.name).join(', ')})`, input);
      else if (column.kind !== 'number') error('expression_not_numeric', `the expression for "${feature.name}" reads "${input}", which holds text`, input);
      else if (input === rules.target) error('target_in_expression', `the expression for "${feature.name}" reads the target "${input}"`, input);
      else if (!numeric.includes(input)) numeric.push(input);
    }
    names.add(feature.name);
  }
  for (const name of rules.sliceBy ?? []) {
    const summary = summaryOf(name);
    if (!summary) error('unknown_slice_column', `evaluation.sliceBy names "${name}", which is not a column`, name);
    else if (summary.distinct > MAX_CATEGORIES) error('too_many_slices', `evaluation.sliceBy column "${name}" has ${summary.type === 'number' ? `more than ${MAX_CATEGORIES}` : summary.distinct} distinct values; at most ${MAX_CATEGORIES} slices are reported`, name);
  }
  const features = [...numeric, ...categorical];
  if (features.length === 0 && !issues.some((i) => i.code === 'missing_feature' || i.code === 'too_many_categories')) {
    error('no_features', 'no feature columns to train on');
  }
  for (const name of features) {
    const s = summaryOf(name)!;
    if (s.missingRatio > maxMissingRatio) {
      error('too_many_missing', `feature "${name}" is ${(s.missingRatio * 100).toFixed(1)}% missing; at most ${(maxMissingRatio * 100).toFixed(0)}% is allowed`, name);
    } else if (s.distinct <= 1) {
      warn('constant_feature', `feature "${name}" has a single value and carries no information`, name);
    }
  }
  return { ok: !issues.some((i) => i.severity === 'error'), rowCount: table.rowCount, target: rules.target, task, kind, features, numeric, categorical, classes, columns, issues };
}

/** A readable multi-line account of the errors in a report. */
export function formatValidationErrors(report: ValidationReport): string {
  const errors = report.issues.filter((i) => i.severity === 'error');
  return `data validation failed with ${errors.length} error(s):\n` + errors.map((e) => `- ${e.message}`).join('\n');
}
