/**
 * Derived features written as expressions, e.g. `bmi = weight / (height / 100) ^ 2`, parsed with mathjs.
 * The same syntax tree is evaluated on typed arrays (training) and translated to ONNX nodes (serving).
 * Allowed: numbers, numeric column names, + - * / ^, unary minus, parentheses, log exp sqrt abs.
 */
import * as math from 'mathjs';
import type { MathNode } from 'mathjs';

export interface DerivedFeature {
  name: string;
  expression: MathNode;
  /** Columns the expression reads, in first-use order. */
  inputs: string[];
}

/** An expression mathjs rejects, or one that uses something we cannot compile. */
export class ExpressionError extends Error {}

const FUNCTIONS: Record<string, (v: number) => number> = { log: Math.log, exp: Math.exp, sqrt: Math.sqrt, abs: Math.abs };
const OPERATORS: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
  pow: (a, b) => a ** b,
};
export const ONNX_FUNCTIONS: Record<string, string> = { log: 'Log', exp: 'Exp', sqrt: 'Sqrt', abs: 'Abs' };
export const ONNX_OPERATORS: Record<string, string> = { add: 'Add', subtract: 'Sub', multiply: 'Mul', divide: 'Div', pow: 'Pow' };

/** Parses `name = expression`; throws ExpressionError with a message fit for a validation report. */
export function parseDerived(text: string): DerivedFeature {
  let node: MathNode;
  try {
    node = math.parse(text);
  } catch (err) {
    throw new ExpressionError(`"${text}" is not a valid expression: ${(err as Error).message}`);
  }
  if (node.type !== 'AssignmentNode') throw new ExpressionError(`"${text}" must name the new feature: name = expression`);
  const assignment = node as math.AssignmentNode;
  if (assignment.object.type !== 'SymbolNode' || assignment.index) throw new ExpressionError(`"${text}" must assign to a plain name`);
  const name = (assignment.object as math.SymbolNode).name;
  const inputs: string[] = [];
  const check = (n: MathNode): void => {
    switch (n.type) {
      case 'ConstantNode':
        if (typeof (n as math.ConstantNode).value !== 'number') throw new ExpressionError(`"${text}": only numeric constants are allowed`);
        return;
      case 'SymbolNode': {
        const symbol = (n as math.SymbolNode).name;
        if (!inputs.includes(symbol)) inputs.push(symbol);
        return;
      }
      case 'ParenthesisNode':
        return check((n as math.ParenthesisNode).content);
      case 'OperatorNode': {
        const op = n as math.OperatorNode;
        const known = op.args.length === 2 ? op.fn in OPERATORS : op.fn === 'unaryMinus' || op.fn === 'unaryPlus';
        if (!known) throw new ExpressionError(`"${text}": the operator "${op.op}" is not supported (use + - * / ^)`);
        op.args.forEach(check);
        return;
      }
      case 'FunctionNode': {
        const fn = n as math.FunctionNode;
        if (!(fn.fn.name in FUNCTIONS) || fn.args.length !== 1) throw new ExpressionError(`"${text}": the function "${fn.fn.name}" is not supported (use ${Object.keys(FUNCTIONS).join(', ')} of one argument)`);
        return check(fn.args[0]);
      }
      default:
        throw new ExpressionError(`"${text}": ${n.type} is not supported in feature expressions`);
    }
  };
  check(assignment.value);
  return { name, expression: assignment.value, inputs };
}

/** Evaluates the expression for every row; non-finite results (division by zero, log of 0) are missing. */
export function evaluateDerived(feature: DerivedFeature, column: (name: string) => Float64Array, rows: number): Float64Array {
  const evaluate = (n: MathNode): Float64Array => {
    switch (n.type) {
      case 'ConstantNode': return new Float64Array(rows).fill((n as math.ConstantNode).value as number);
      case 'SymbolNode': return column((n as math.SymbolNode).name);
      case 'ParenthesisNode': return evaluate((n as math.ParenthesisNode).content);
      case 'OperatorNode': {
        const op = n as math.OperatorNode;
        const a = evaluate(op.args[0]);
        if (op.args.length === 1) return op.fn === 'unaryMinus' ? a.map((v) => -v) : a;
        const b = evaluate(op.args[1]);
        const f = OPERATORS[op.fn];
        return a.map((v, i) => f(v, b[i]));
      }
      case 'FunctionNode': {
        const fn = n as math.FunctionNode;
        return evaluate(fn.args[0]).map(FUNCTIONS[fn.fn.name]);
      }
      default: throw new ExpressionError(`${n.type} is not supported`);
    }
  };
  // Math.fround per step would match float32 ONNX more closely; float64 here stays within 1e-5.
  return evaluate(feature.expression).map((v) => (Number.isFinite(v) ? v : NaN));
}
