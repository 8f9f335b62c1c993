/**
 * Special functions behind the drift tests' p-values: log-gamma and the regularised incomplete gamma
 * (the chi-square tail), and the exact distributions of the Kolmogorov-Smirnov statistics: the one-sided
 * D+_n (Smirnov) and the two-sided D_n (what scipy calls `kstwo`), which the asymptotic two-sample test
 * evaluates at the effective sample size.
 *
 * Accuracy target: agree with scipy 1.17 (cephes / its `_ksstats` module) to about 1e-12 relative where
 * the value is not subnormal, so that our p-values are scipy's. The algorithms are the published ones
 * scipy follows too: Simard & L'Ecuyer's choice, by n and n x², between Durbin's matrix method,
 * Pomeranz's recursion, the Pelz-Good expansion and the Smirnov-Birnbaum-Tingey sum, with scipy's
 * switch points so the same method answers on both sides. The Smirnov sum differs in how its terms are
 * evaluated (binomial probabilities in Loader's saddle-point form, where cephes uses double-double
 * powers): as accurate, and several times faster for large n.
 */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const EPSILON = 2.220446049250313e-16;
/** Below this log the Smirnov tail underflows even as a subnormal: scipy returns 0 (its MIN_EXPABLE, -708 - 38). */
const MIN_LOG = -746;

// Bernoulli-number coefficients B_2k / (2k (2k - 1)) of Stirling's series for ln Γ, k = 1..8.
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400];

/** Stirling's series remainder Σ B_2k / (2k (2k-1) x^(2k-1)); accurate to double precision for x >= 15. */
function stirlingSeries(x: number): number {
  const inv2 = 1 / (x * x);
  let sum = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) sum = sum * inv2 + STIRLING[k];
  return sum / x;
}

/** ln Γ(x) for x > 0 (NaN below, +Infinity at 0). Shifts small arguments up to 15, where Stirling's series converges fast. */
export function logGamma(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return Infinity;
  if (x === Infinity) return Infinity;
  let product = 1;
  while (x < 15) { product *= x; x += 1; }
  return (x - 0.5) * Math.log(x) - x + LOG_SQRT_2PI + stirlingSeries(x) - Math.log(product);
}

/** x^a e^-x / Γ(a), the common factor of both incomplete-gamma expansions, in logs so it cannot overflow. */
function gammaPrefactor(a: number, x: number): number {
  return Math.exp(a * Math.log(x) - x - logGamma(a));
}

/** P(a, x) by its power series; converges quickly for x < a + 1. */
function gammaPSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 100000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
  }
  return sum * gammaPrefactor(a, x);
}

/** Q(a, x) by its continued fraction (modified Lentz); converges quickly for x >= a + 1. */
function gammaQFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return h * gammaPrefactor(a, x);
}

/** Regularised lower incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0, x >= 0. */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaPSeries(a, x) : 1 - gammaQFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x), computed directly in the tail so small values keep their digits. */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaPSeries(a, x) : gammaQFraction(a, x);
}

/** Survival function of the chi-square distribution with `dof` degrees of freedom (scipy.stats.chi2.sf). */
export function chi2Sf(x: number, dof: number): number {
  if (!(dof > 0) || Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  return gammaQ(dof / 2, x / 2);
}

// ---------------------------------------------------------------------------------------------------
// One-sided Kolmogorov-Smirnov (Smirnov) distribution.

// ln(k!) - (k + 1/2) ln k + k - ln √(2π) for k = 1..15 (Stirling's error), computed to 40 digits with mpmath;
// above 15 the series below is accurate to double precision.
const STIRLING_ERROR_TABLE = [
  0, 0.08106146679532726, 0.0413406959554093, 0.02767792568499834, 0.020790672103765093, 0.016644691189821193,
  0.013876128823070748, 0.01189670994589177, 0.010411265261972096, 0.009255462182712733, 0.00833056343336287,
  0.007573675487951841, 0.00694284010720953, 0.006408994188004207, 0.0059513701127588475, 0.005554733551962801,
];

/** Stirling's error for a positive integer k: what ln k! lacks after the leading Stirling terms. */
function stirlingError(k: number): number {
  if (k <= 15) return STIRLING_ERROR_TABLE[k];
  const k2 = k * k;
  if (k > 500) return (1 / 12 - 1 / 360 / k2) / k;
  if (k > 80) return (1 / 12 - (1 / 360 - 1 / 1260 / k2) / k2) / k;
  if (k > 35) return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / 1680 / k2) / k2) / k2) / k;
  return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / k2) / k2) / k2) / k2) / k;
}

/**
 * k ln(k / m) + m - k, the deviance term of a binomial probability, without the cancellation the plain
 * formula suffers when k is close to m (then a series in (k - m) / (k + m) is used).
 */
function devianceTerm(k: number, m: number): number {
  const diff = k - m;
  if (Math.abs(diff) < 0.1 * (k + m)) {
    const v = diff / (k + m);
    const v2 = v * v;
    let sum = diff * v;
    let power = 2 * k * v;
    for (let j = 1; j < 1000; j++) {
      power *= v2;
      const next = sum + power / (2 * j + 1);
      if (next === sum) return next;
      sum = next;
    }
    return sum;
  }
  return k * Math.log(k / m) + m - k;
}

/**
 * Binomial probability C(n, k) p^k (1-p)^(n-k) for 0 < k < n, given np and n(1-p) directly (the caller
 * knows them more exactly than p). Loader's saddle-point form: relative accuracy near machine precision
 * even when n is in the millions, where the naive product would lose digits to its huge exponents.
 */
function binomialProbability(k: number, n: number, np: number, nq: number): number {
  const logCore = stirlingError(n) - stirlingError(k) - stirlingError(n - k) - devianceTerm(k, np) - devianceTerm(n - k, nq);
  const logScale = Math.log(2 * Math.PI) + Math.log(k) + Math.log1p(-k / n);
  return Math.exp(logCore - 0.5 * logScale);
}

/** Above this sample size the exact Smirnov sum is replaced by its asymptotic form (as scipy does). */
const SMIRNOV_MAX_EXACT_N = 1000000;

/**
 * P(D+_n >= x), the upper tail of the one-sided Kolmogorov-Smirnov statistic for a sample of n
 * (scipy.special.smirnov). Exact by the Smirnov-Birnbaum-Tingey sum
 *   x Σ_{j=0}^{⌊n(1-x)⌋} C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1),
 * whose terms are all positive, so it is summed as it stands; each term is a binomial probability
 * (p = x + j/n) divided by p, evaluated with the saddle-point form above.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && Number.isInteger(n) && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  if (nx <= 1) return 1 - x * Math.exp((n - 1) * Math.log1p(x)); // P(D+ < x) = x (1 + x)^(n-1) for x <= 1/n
  if (-2 * nx * x < MIN_LOG) return 0;
  if (nx >= n - 1) return Math.pow(1 - x, n);
  if (n > SMIRNOV_MAX_EXACT_N) {
    const logp = -Math.pow(6 * nx + 1, 2) / 18 / n;
    // p ≈ exp(-(6nx + 1)² / 18n); scipy takes the complement's expm1 when p > 1/2, so do we
    return logp < -Math.LN2 ? Math.exp(logp) : 1 - -Math.expm1(logp);
  }
  // j = 0: (1 - x)^n / x
  let sum = Math.exp(n * Math.log1p(-x)) / x;
  let compensation = 0;
  const half = n / 2;
  for (let j = 1; ; j++) {
    const rest = n - j - nx; // n (1 - x - j/n)
    if (!(rest > 0)) break;
    const np = nx + j;
    const term = (binomialProbability(j, n, np, rest) * n) / np;
    // Neumaier summation: up to a million positive terms, keep the rounding of the running sum out.
    const t = sum + term;
    compensation += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
    if (term === 0) {
      if (j > half) break; // past the peak and underflowed: the rest is smaller still
    } else if (4 * (n - j) * term < EPSILON * sum) {
      break; // the remaining terms cannot change the sum
    }
  }
  return Math.min(1, Math.max(0, x * (sum + compensation)));
}

// ---------------------------------------------------------------------------------------------------
// Two-sided Kolmogorov-Smirnov distribution of D_n (scipy.stats.kstwo).

const SCALE_UP = 2 ** 128;
const SCALE_DOWN = 2 ** -128;

/** ln(n! / n^n) by Stirling's series (with n ln n removed up front, so nothing cancels). */
function logFactorialOverPower(n: number): number {
  return 0.5 * Math.log(n) - n + LOG_SQRT_2PI + stirlingSeries(n);
}

/**
 * P(D_n < d) by Durbin's matrix method as arranged by Marsaglia, Tsang and Wang: with n d = k - h
 * (k integer, 0 <= h < 1), the answer is n!/n^n times the (k, k) entry of H^n for an m x m matrix,
 * m = 2k - 1. Powers by squaring, rescaled by 2^128 whenever the entries grow, the exponent kept apart.
 */
function durbinMatrixCdf(n: number, d: number): number {
  const nd = n * d;
  if (d >= 1) return 1;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  // first column and last row: (1 - h^i) / i!, with a correction in the corner; above: 1/(i-j+1)!
  const firstColumn = new Float64Array(m);
  const inverseFactorial = new Float64Array(m);
  let factorial = 1;
  for (let i = 1; i <= m; i++) {
    inverseFactorial[i - 1] = factorial;
    factorial /= i;
    firstColumn[i - 1] = (1 - Math.pow(h, i)) * factorial;
  }
  firstColumn[m - 1] = (1 + Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m)) * factorial;
  for (let col = 1; col < m; col++) {
    for (let row = col - 1; row < m; row++) H[row * m + col] = inverseFactorial[row - col + 1];
  }
  for (let row = 0; row < m; row++) H[row * m] = firstColumn[row];
  for (let col = 0; col < m; col++) H[(m - 1) * m + col] = firstColumn[m - 1 - col];

  let power: Float64Array = identity(m);
  let powerExponent = 0;
  let hExponent = 0;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) {
      power = multiply(power, H, m);
      powerExponent += hExponent;
    }
    H = multiply(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > SCALE_UP) {
      for (let i = 0; i < H.length; i++) H[i] /= SCALE_UP;
      hExponent += 128;
    }
  }
  let p = power[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < SCALE_DOWN) { p *= SCALE_UP; powerExponent -= 128; }
  }
  return p * Math.pow(2, powerExponent);
}

function identity(m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) out[i * m + i] = 1;
  return out;
}

function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l];
      if (ail === 0) continue;
      const rowB = l * m;
      const rowOut = i * m;
      for (let j = 0; j < m; j++) out[rowOut + j] += ail * b[rowB + j];
    }
  }
  return out;
}

/**
 * P(D_n <= d) by Pomeranz's recursion: 2n + 1 convolutions of a short row with truncated Poisson-like
 * weights, keeping only the band of entries that can be non-zero; rescaled by 2^128 against underflow.
 */
function pomeranzCdf(n: number, d: number): number {
  const t = n * d;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilF = f > 0 ? 1 : 0;
  const roundF = f > 0.5 ? 1 : 0;
  const width = 2 * (ll + 1);
  // (g/n)^j / j!, (2g/n)^j / j!, ((1-2g)/n)^j / j!
  const gPowers = new Float64Array(width);
  const twoGPowers = new Float64Array(width);
  const restPowers = new Float64Array(width);
  gPowers[0] = twoGPowers[0] = restPowers[0] = 1;
  for (let j = 1; j < width; j++) {
    gPowers[j] = (gPowers[j - 1] * (g / n)) / j;
    twoGPowers[j] = (twoGPowers[j - 1] * ((2 * g) / n)) / j;
    restPowers[j] = (restPowers[j - 1] * ((1 - 2 * g) / n)) / j;
  }
  // the band [j1, j2] of row i
  const band = (i: number): [number, number] => {
    let j1: number;
    let j2: number;
    if (i === 0) {
      j1 = -ll - ceilF - 1; j2 = ll + ceilF - 1;
    } else {
      const half = Math.floor((i + 1) / 2);
      if ((i + 1) % 2 === 0) {
        if (half === n + 1) { j1 = n - ll - ceilF - 1; j2 = n + ll + ceilF - 1; } else { j1 = half - 1 - ll - roundF - 1; j2 = half + ll - 1 + ceilF - 1; }
      } else {
        j1 = half - 1 - ll - 1; j2 = half + ll + roundF - 1;
      }
    }
    return [Math.max(j1 + 2, 0), Math.min(j2, n)];
  };
  let previous: Float64Array = new Float64Array(width);
  let current: Float64Array = new Float64Array(width);
  current[0] = 1;
  let previousStart = 0;
  let currentStart = 0;
  let exponent = 0;
  let j1 = band(0)[0];
  let j2: number;
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [previous, current] = [current, previous];
    [previousStart, currentStart] = [currentStart, previousStart];
    current.fill(0);
    [j1, j2] = band(i);
    const weights = i === 1 || i === 2 * n + 1 ? gPowers : i % 2 === 1 ? twoGPowers : restPowers;
    const span = j2 - k1 + 1;
    if (span > 0) {
      // entry r of the new row is Σ_s previous[k1 + s] · weights[r + (j1 - k1) - s]
      const offset = j1 - k1;
      const base = k1 - previousStart;
      let largest = 0;
      for (let r = 0; r <= j2 - j1; r++) {
        const lag = r + offset;
        let acc = 0;
        for (let s = Math.max(0, lag - span + 1); s <= Math.min(lag, span - 1); s++) acc += previous[base + s] * weights[lag - s];
        current[r] = acc;
        if (acc > largest) largest = acc;
      }
      if (largest > 0 && largest < SCALE_DOWN) {
        for (let r = 0; r < width; r++) current[r] *= SCALE_UP;
        exponent -= 128;
      }
      currentStart = previousStart + j1 - k1;
    }
  }
  let answer = current[n - currentStart];
  for (let j = 1; j <= n; j++) {
    if (Math.abs(answer) > SCALE_UP) { answer *= SCALE_DOWN; exponent += 128; }
    answer *= j;
  }
  return answer * Math.pow(2, exponent);
}

/**
 * Pelz and Good's expansion P(D_n <= x) ≈ K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5 with z = x √n:
 * Li-Chien's and Korolyuk's series rewritten through Jacobi's theta identity so that it converges fast
 * for the small z where the direct series does not. Each K_i is a theta-like sum over odd m of a
 * polynomial in m² times q^(m²), q = exp(-π² / 8z²); K2 and K3 add a sum over all integers k.
 */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const pi2 = Math.PI * Math.PI;
  const logQ = -pi2 / (8 * z2);
  if (logQ < -708) return 0; // every term underflows
  const q = Math.exp(logQ);
  // the polynomials in m² of K1, K2, K3 (K0's is 1), as coefficient lists from m⁰ upwards
  const poly1 = [-z2, pi2 / 4];
  const poly2 = [6 * z6 + 2 * z4, ((2 * z4 - 5 * z2) * pi2) / 4, (pi2 * pi2 * (1 - 2 * z2)) / 16];
  const poly3 = [-30 * z6 - 90 * z4 * z4, (pi2 * (135 * z4 - 96 * z6)) / 4, (pi2 * pi2 * (212 * z4 - 60 * z2)) / 16, (pi2 * pi2 * pi2 * (5 - 30 * z2)) / 64];
  const at = (poly: number[], m2: number) => { let v = 0; for (let i = poly.length - 1; i >= 0; i--) v = v * m2 + poly[i]; return v; };
  // Σ_k c(m_k) q^(m_k²) over m_k = 2k - 1, nested from the last term: consecutive exponents differ by 8k
  const terms = Math.ceil((16 * z) / Math.PI);
  const odd = [0, 0, 0, 0];
  for (let k = terms; k >= 1; k--) {
    const m2 = (2 * k - 1) ** 2;
    const step = Math.pow(q, 8 * k);
    odd[0] = odd[0] * step + 1;
    odd[1] = odd[1] * step + at(poly1, m2);
    odd[2] = odd[2] * step + at(poly2, m2);
    odd[3] = odd[3] * step + at(poly3, m2);
  }
  const root2pi = Math.sqrt(2 * Math.PI);
  const k0 = (odd[0] * q * root2pi) / z;
  const k1 = (odd[1] * q * root2pi) / (6 * z4);
  let k2 = (odd[2] * q * root2pi) / (72 * z6 * z);
  let k3 = (odd[3] * q * root2pi) / (6480 * z6 * z4);
  // the sums over all k of K2 and K3, with r = exp(-π² / 2z²)
  const r = Math.exp(-pi2 / (2 * z2));
  let all2 = 0;
  let all3 = 0;
  for (let k = terms; k >= 1; k--) {
    const k2sq = k * k;
    const weight = k2sq * Math.pow(r, k2sq);
    all2 += weight;
    all3 += (3 * z2 - pi2 * k2sq) * weight;
  }
  k2 -= (all2 * pi2 * root2pi) / (36 * z2 * z);
  k3 += (all3 * pi2 * root2pi) / (216 * z6);
  const rootN = Math.sqrt(n);
  return k0 + k1 / rootN + k2 / n + k3 / (n * rootN);
}

const clip01 = (p: number) => Math.min(1, Math.max(0, p));

/**
 * P(D_n >= x) for the two-sided one-sample Kolmogorov-Smirnov statistic (scipy.stats.kstwo.sf), choosing
 * the method by n and n x² as Simard and L'Ecuyer recommend: closed forms at the ends of the range, the
 * exact matrix or recursion methods for small n, the Smirnov sum (P(D_n >= x) = 2 P(D+_n >= x) once the
 * two one-sided events cannot both happen, or as the approximation in the far tail) and Pelz-Good otherwise.
 */
export function kolmogorovSmirnovSf(n: number, x: number): number {
  if (!(n >= 1 && Number.isInteger(n)) || Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0.5 / n) return 1; // below the support
  const t = n * x;
  if (t <= 1) {
    // Ruben and Gambino: P(D_n < x) = n!/n^n (2t - 1)^n for 1/(2n) <= x <= 1/n
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * Math.pow(1 - x, n));
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clip01(1 - durbinMatrixCdf(n, x));
    if (nx2 <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100000 && n * Math.pow(x, 1.5) <= 1.4 ? durbinMatrixCdf(n, x) : pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}
