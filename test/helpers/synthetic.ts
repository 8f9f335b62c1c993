/** Synthetic binary-classification data with known coefficients, reproducible from a seed. */
import { createRng } from '../../src/ml/random';
import { Table } from '../../src/ml/table';

export interface Synthetic {
  table: Table;
  features: string[];
}

/** y ~ Bernoulli(sigmoid(bias + Σ w_j x_j)) with x_j ~ N(mean_j, scale_j²). */
export function syntheticLogistic(o: { rows: number; weights: number[]; bias: number; seed: number; means?: number[]; scales?: number[] }): Synthetic {
  const rng = createRng(o.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const d = o.weights.length;
  const features = Array.from({ length: d }, (_, j) => `x${j + 1}`);
  const cols = features.map(() => new Float64Array(o.rows));
  const codes = new Int32Array(o.rows);
  for (let i = 0; i < o.rows; i++) {
    let t = o.bias;
    for (let j = 0; j < d; j++) {
      const z = normal();
      cols[j][i] = (o.means?.[j] ?? 0) + (o.scales?.[j] ?? 1) * z;
      t += o.weights[j] * z; // weights act on standardised values
    }
    codes[i] = rng() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
  }
  return {
    features,
    table: {
      rowCount: o.rows,
      columns: [
        ...features.map((name, j) => ({ name, kind: 'number' as const, values: cols[j] })),
        { name: 'label', kind: 'string' as const, codes, dictionary: ['no', 'yes'] },
      ],
    },
  };
}

/**
 * The same with a text feature, `plan` (basic, pro or team, from x1), so models get a numeric and a
 * categorical input.
 */
export function syntheticWithPlan(o: { rows: number; seed: number }): Synthetic {
  const { table, features } = syntheticLogistic({ rows: o.rows, weights: [2, -1, 0.5], bias: 0, seed: o.seed });
  const x1 = table.columns[0];
  if (x1.kind !== 'number') throw new Error('x1 is numeric');
  table.columns.push({ name: 'plan', kind: 'string', dictionary: ['basic', 'pro', 'team'], codes: Int32Array.from(x1.values, (v) => (v > 0.5 ? 1 : v > -0.5 ? 2 : 0)) });
  return { table, features: [...features, 'plan'] };
}
