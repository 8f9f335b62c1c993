/**
 * Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) with a backtracking Armijo line search,
 * for smooth convex objectives such as softmax regression where a full Hessian is too large.
 */

export interface LbfgsOptions {
  /** Pairs of past steps kept to shape the search direction. */
  memory?: number;
  maxIterations?: number;
  /** Stop when the largest gradient component falls below this. */
  gradientTolerance?: number;
  onIteration?: (iteration: number, value: number) => void;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

/** `evaluate(x, gradient)` returns f(x) and writes ∇f(x) into `gradient`. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

export function minimizeLbfgs(evaluate: Objective, start: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const memory = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 1000;
  const tolerance = options.gradientTolerance ?? 1e-9;
  const n = start.length;
  let x = Float64Array.from(start);
  let g = new Float64Array(n);
  let value = evaluate(x, g);
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  const direction = new Float64Array(n);
  const alphas = new Float64Array(memory);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    options.onIteration?.(iteration, value);
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    if (gmax < tolerance) return { x, value, iterations: iteration, converged: true };

    // two-loop recursion: direction = -H·g
    direction.set(g);
    for (let k = ss.length - 1; k >= 0; k--) {
      alphas[k] = rhos[k] * dot(ss[k], direction);
      for (let i = 0; i < n; i++) direction[i] -= alphas[k] * ys[k][i];
    }
    const gamma = ss.length > 0 ? dot(ss[ss.length - 1], ys[ys.length - 1]) / dot(ys[ys.length - 1], ys[ys.length - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) direction[i] *= gamma;
    for (let k = 0; k < ss.length; k++) {
      const beta = rhos[k] * dot(ys[k], direction);
      for (let i = 0; i < n; i++) direction[i] += ss[k][i] * (alphas[k] - beta);
    }
    for (let i = 0; i < n; i++) direction[i] = -direction[i];
    let slope = dot(g, direction);
    if (slope >= 0) { // not a descent direction (numerical trouble): restart from steepest descent
      ss.length = 0; ys.length = 0; rhos.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -g[i];
      slope = -dot(g, g);
    }

    let step = 1;
    const next = new Float64Array(n);
    const nextGrad = new Float64Array(n);
    let nextValue = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) next[i] = x[i] + step * direction[i];
      nextValue = evaluate(next, nextGrad);
      if (nextValue <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextValue <= value)) return { x, value, iterations: iteration, converged: true }; // no progress left at this precision

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) { s[i] = next[i] - x[i]; y[i] = nextGrad[i] - g[i]; }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      ss.push(s); ys.push(y); rhos.push(1 / sy);
      if (ss.length > memory) { ss.shift(); ys.shift(); rhos.shift(); }
    }
    const improvement = value - nextValue;
    x = next; g = nextGrad; value = nextValue;
    if (improvement < 1e-16 * Math.max(1, Math.abs(value))) return { x, value, iterations: iteration, converged: true };
  }
  return { x, value, iterations: maxIterations, converged: false };
}
