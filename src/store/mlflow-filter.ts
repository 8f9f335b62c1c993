/**
 * MLflow's search filters and orderings (`metrics.rmse < 0.5 AND params.C = '1.0'`, `name = 'churn'`,
 * `attributes.start_time DESC`) read into clauses, and the clauses turned into parameterised SQL for the
 * MLflow tables. What a filter names is looked up in a fixed table per entity, so nothing the client
 * writes reaches the SQL text but placeholders: an unknown attribute or operator is a refusal, not a query.
 *
 * The grammar is the part of MLflow's that its client and UI send: clauses joined by AND; identifiers
 * `metrics.k`, `params.k`, `tags.k`, `attributes.k` (or a bare attribute), a key quoted with backticks or
 * double quotes when it holds spaces; operators = != <> < <= > >= LIKE ILIKE IN, NOT IN; values quoted
 * text, numbers, or a parenthesised list for IN.
 */
import { DomainError } from '../domain/errors';

export type FilterKind = 'attribute' | 'metric' | 'param' | 'tag';
export type FilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';
export type FilterValue = string | number | (string | number)[];

export interface FilterClause {
  kind: FilterKind;
  key: string;
  op: FilterOp;
  value: FilterValue;
}

export interface OrderClause {
  kind: FilterKind;
  key: string;
  descending: boolean;
}

const invalid = (message: string) => new DomainError('invalid', message);

const PREFIXES: Record<string, FilterKind> = {
  attribute: 'attribute', attributes: 'attribute', attr: 'attribute', run: 'attribute',
  metric: 'metric', metrics: 'metric',
  param: 'param', params: 'param', parameter: 'param', parameters: 'param',
  tag: 'tag', tags: 'tag',
};

type Token =
  | { type: 'word'; text: string; end: number }
  | { type: 'string'; text: string; quote: string; start: number }
  | { type: 'symbol'; text: string };

const WORD_STOP = /[\s=!<>(),'"`]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'" || c === '"' || c === '`') {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw invalid(`the filter has an unclosed ${c} quote: ${text}`);
        if (text[i] === '\\' && i + 1 < text.length) { value += text[i + 1]; i += 2; continue; }
        if (text[i] === c) {
          // SQL's way of writing the quote inside a string: doubled
          if (text[i + 1] === c) { value += c; i += 2; continue; }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ type: 'string', text: value, quote: c, start });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (['!=', '<=', '>=', '<>'].includes(two)) { tokens.push({ type: 'symbol', text: two === '<>' ? '!=' : two }); i += 2; continue; }
    if ('=<>(),'.includes(c)) { tokens.push({ type: 'symbol', text: c }); i++; continue; }
    if (c === '!') throw invalid(`the filter has a stray "!": ${text}`);
    let j = i;
    while (j < text.length && !WORD_STOP.test(text[j])) j++;
    tokens.push({ type: 'word', text: text.slice(i, j), end: j });
    i = j;
  }
  return tokens;
}

/** Reads identifiers from a token list: `prefix.key`, `prefix.`quoted key``, or a bare attribute. */
class Reader {
  private at = 0;

  constructor(private readonly tokens: Token[], private readonly source: string) {}

  done(): boolean { return this.at >= this.tokens.length; }
  peek(): Token | undefined { return this.tokens[this.at]; }
  next(): Token {
    const token = this.tokens[this.at++];
    if (!token) throw invalid(`the filter ends too soon: ${this.source}`);
    return token;
  }

  identifier(): { kind: FilterKind; key: string } {
    const token = this.next();
    if (token.type === 'string' && token.quote !== "'") return { kind: 'attribute', key: token.text };
    if (token.type !== 'word') throw invalid(`expected a name such as metrics.loss or params.C, got ${describe(token)}`);
    const dot = token.text.indexOf('.');
    if (dot < 0) return { kind: 'attribute', key: token.text };
    const prefix = token.text.slice(0, dot).toLowerCase();
    const kind = PREFIXES[prefix];
    if (!kind) throw invalid(`"${prefix}" is not one of attributes, metrics, params, tags (in "${token.text}")`);
    let key = token.text.slice(dot + 1);
    const quoted = this.peek();
    if (key === '' && quoted?.type === 'string' && quoted.start === token.end) {
      this.at++;
      key = quoted.text;
    }
    if (key === '') throw invalid(`"${token.text}" names no key`);
    return { kind, key };
  }
}

function describe(token: Token): string {
  return token.type === 'string' ? `the quoted text '${token.text}'` : `"${token.text}"`;
}

function readOperator(reader: Reader): FilterOp {
  const token = reader.next();
  if (token.type === 'symbol' && ['=', '!=', '<', '<=', '>', '>='].includes(token.text)) return token.text as FilterOp;
  if (token.type === 'word') {
    const word = token.text.toUpperCase();
    if (word === 'LIKE' || word === 'ILIKE' || word === 'IN') return word;
    if (word === 'NOT') {
      const after = reader.next();
      if (after.type === 'word' && after.text.toUpperCase() === 'IN') return 'NOT IN';
    }
  }
  throw invalid(`expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN), got ${describe(token)}`);
}

function readScalar(reader: Reader): string | number {
  const token = reader.next();
  if (token.type === 'string') return token.text;
  if (token.type === 'word') {
    const number = Number(token.text);
    if (token.text !== '' && Number.isFinite(number)) return number;
  }
  throw invalid(`expected a quoted value or a number, got ${describe(token)}`);
}

function readValue(reader: Reader, op: FilterOp): FilterValue {
  if (op !== 'IN' && op !== 'NOT IN') return readScalar(reader);
  const open = reader.next();
  if (open.type !== 'symbol' || open.text !== '(') throw invalid(`${op} takes a list in parentheses, as in ('a', 'b')`);
  const values: (string | number)[] = [readScalar(reader)];
  for (;;) {
    const token = reader.next();
    if (token.type === 'symbol' && token.text === ')') return values;
    if (token.type !== 'symbol' || token.text !== ',') throw invalid(`expected "," or ")" in the ${op} list, got ${describe(token)}`);
    values.push(readScalar(reader));
  }
}

/** The clauses of a filter string; an empty or absent filter has none. */
export function parseFilter(filter: string | undefined): FilterClause[] {
  if (!filter || filter.trim() === '') return [];
  const reader = new Reader(tokenize(filter), filter);
  const clauses: FilterClause[] = [];
  for (;;) {
    const { kind, key } = reader.identifier();
    const op = readOperator(reader);
    clauses.push({ kind, key, op, value: readValue(reader, op) });
    if (reader.done()) return clauses;
    const joiner = reader.next();
    if (joiner.type !== 'word' || joiner.text.toUpperCase() !== 'AND') {
      throw invalid(`MLflow filters join clauses with AND only; got ${describe(joiner)}`);
    }
  }
}

/** One `order_by` entry: a name and an optional ASC or DESC. */
export function parseOrder(entry: string): OrderClause {
  const tokens = tokenize(entry);
  let descending = false;
  const last = tokens[tokens.length - 1];
  if (last?.type === 'word' && /^(ASC|DESC)$/i.test(last.text) && tokens.length > 1) {
    descending = last.text.toUpperCase() === 'DESC';
    tokens.pop();
  }
  const reader = new Reader(tokens, entry);
  const { kind, key } = reader.identifier();
  if (!reader.done()) throw invalid(`order_by entries are a name and ASC or DESC, got "${entry}"`);
  return { kind, key, descending };
}

// ---- to SQL

/** A column an entity exposes to filters: its SQL expression over the entity's row alias, and its type. */
export interface FilterColumn {
  sql: string;
  type: 'text' | 'number';
}

/** A key-value table of an entity (params, tags, metrics), read as `kv`; `join` ties its rows to the entity's. */
export interface KeyValueSource {
  table: string;
  join: string;
  type: 'text' | 'number';
}

/** What one entity lets filters and orderings name. */
export interface FilterTarget {
  entity: string;
  attributes: Record<string, FilterColumn>;
  metric?: KeyValueSource;
  param?: KeyValueSource;
  tag?: KeyValueSource;
}

/** Placeholder numbering shared by the fragments of one query. */
export class SqlParams {
  readonly values: unknown[] = [];

  constructor(initial: unknown[] = []) { this.values.push(...initial); }

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const STRING_OPS: FilterOp[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
const NUMBER_OPS: FilterOp[] = ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN'];

function sourceOf(target: FilterTarget, kind: FilterKind, key: string): { column: (alias: string) => string; from?: KeyValueSource; type: 'text' | 'number' } {
  if (kind === 'attribute') {
    const column = target.attributes[key];
    if (!column) throw invalid(`${target.entity} cannot be searched or ordered by "${key}"; it has ${Object.keys(target.attributes).join(', ')}`);
    return { column: () => column.sql, type: column.type };
  }
  const from = target[kind];
  if (!from) throw invalid(`${target.entity} have no ${kind}s to search or order by`);
  return { column: (alias) => `${alias}.value`, from, type: from.type };
}

function comparison(column: string, type: 'text' | 'number', clause: FilterClause, params: SqlParams): string {
  const allowed = type === 'number' ? NUMBER_OPS : STRING_OPS;
  if (!allowed.includes(clause.op)) throw invalid(`${clause.op} does not apply to ${clause.key}, a ${type === 'number' ? 'number' : 'text'}; use ${allowed.join(', ')}`);
  const values = Array.isArray(clause.value) ? clause.value : [clause.value];
  const typed = values.map((v) => {
    if (type === 'text') {
      if (typeof v !== 'string') throw invalid(`${clause.key} is text: quote the value ('${v}')`);
      return v;
    }
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw invalid(`${clause.key} is a number, got "${v}"`);
    return n;
  });
  const cast = type === 'number' ? '::double precision' : '::text';
  if (clause.op === 'IN') return `${column} = ANY(${params.add(typed)}${cast}[])`;
  if (clause.op === 'NOT IN') return `${column} <> ALL(${params.add(typed)}${cast}[])`;
  const op = clause.op === '!=' ? '<>' : clause.op;
  return `${column} ${op} ${params.add(typed[0])}${cast}`;
}

/** SQL conditions (joined by AND) for the clauses, or TRUE for none. */
export function filterSql(target: FilterTarget, clauses: FilterClause[], params: SqlParams): string {
  if (clauses.length === 0) return 'TRUE';
  return clauses.map((clause) => {
    const source = sourceOf(target, clause.kind, clause.key);
    if (!source.from) return comparison(source.column(''), source.type, clause, params);
    const { table, join } = source.from;
    return `EXISTS (SELECT 1 FROM ${table} kv WHERE ${join} AND kv.key = ${params.add(clause.key)} AND ${comparison('kv.value', source.type, clause, params)})`;
  }).join(' AND ');
}

/** SQL ORDER BY terms for the orderings (rows without the key sort last), before `tiebreak`. */
export function orderSql(target: FilterTarget, orders: OrderClause[], params: SqlParams, tiebreak: string): string {
  const terms = orders.map((order) => {
    const source = sourceOf(target, order.kind, order.key);
    const direction = order.descending ? 'DESC' : 'ASC';
    if (!source.from) return `${source.column('')} ${direction} NULLS LAST`;
    const { table, join } = source.from;
    return `(SELECT kv.value FROM ${table} kv WHERE ${join} AND kv.key = ${params.add(order.key)} LIMIT 1) ${direction} NULLS LAST`;
  });
  return [...terms, tiebreak].join(', ');
}
