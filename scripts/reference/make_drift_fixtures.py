"""Reference results from scipy and numpy for the drift statistics, for test/drift.test.ts.

Run once when the fixtures must change (the libraries are not project dependencies):
    python3 -m pip install --target /tmp/pyref scipy numpy mpmath
    PYTHONPATH=/tmp/pyref python3 scripts/reference/make_drift_fixtures.py
It writes test/fixtures/drift/ks.json (two-sample KS cases with their data) and
test/fixtures/drift/scipy.json (distribution functions, chi-square, Jensen-Shannon, Wasserstein, bins).
Every sample comes from a seeded numpy generator and is rounded before use, so the JSON holds exactly
the numbers scipy saw and stays small. Missing values (NaN) are written as null.
"""
import json
import math
import os
import warnings

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "drift")
rng = np.random.default_rng(20261127)


def listed(x):
    return [None if math.isnan(v) else float(v) for v in np.asarray(x, dtype=float)]


def normal(n, shift=0.0, decimals=4):
    return np.round(rng.normal(shift, 1.0, n), decimals)


def ks_case(name, a, b, methods=("auto", "exact", "asymp")):
    case = {"name": name, "a": listed(a), "b": listed(b), "results": {}}
    for method in methods:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = stats.ks_2samp(a, b, alternative="two-sided", method=method, nan_policy="omit")
        # scipy reports the method it fell back to only as a warning
        fell_back = any("Switching to" in str(w.message) for w in caught)
        a_n = int(np.sum(~np.isnan(a)))
        b_n = int(np.sum(~np.isnan(b)))
        used = method if method != "auto" else ("exact" if max(a_n, b_n) <= 10000 else "asymp")
        if fell_back:
            used = "asymp"
        case["results"][method] = {"statistic": float(r.statistic), "pvalue": float(r.pvalue), "method": used}
    return case


ks = []
ks.append(ks_case("small, equal sizes (20 v 20), shifted", normal(20), normal(20, 0.8)))
ks.append(ks_case("unequal sizes with ties (37 v 50, one decimal)", normal(37, decimals=1), normal(50, 0.3, decimals=1)))
ks.append(ks_case("integer counts, heavy ties (500 v 700, Poisson)", rng.poisson(3.0, 500).astype(float), rng.poisson(3.3, 700).astype(float)))
ks.append(ks_case("medium unequal (800 v 1200), small shift", normal(800), normal(1200, 0.1)))
ks.append(ks_case("strong drift, tiny p (300 v 400)", normal(300), normal(400, 1.5)))
ks.append(ks_case("equal sizes (3000 v 3000), small shift", normal(3000, decimals=3), normal(3000, 0.05, decimals=3)))
ks.append(ks_case("very unequal (5 v 2000)", normal(5), normal(2000, 0.5, decimals=3)))
ks.append(ks_case("same distribution (1000 v 1500)", normal(1000), normal(1500)))
ks.append(ks_case("effective size in the matrix range (30 v 40)", normal(30), normal(40, 0.4)))
ks.append(ks_case("effective size 71 (100 v 250)", normal(100), normal(250, 0.2)))
ks.append(ks_case("effective size 360, far tail (600 v 900)", normal(600), normal(900, 0.45)))
ks.append(ks_case("effective size 2400 (4000 v 6000), Pelz-Good range", normal(4000, decimals=3), normal(6000, 0.02, decimals=3)))
ks.append(ks_case("odd equal sizes, effective size rounds half to even (45 v 45)", normal(45), normal(45, 0.6)))
with_nan = normal(60)
with_nan[[3, 17, 41]] = np.nan
other_nan = normal(80, 0.7)
other_nan[[0, 79]] = np.nan
ks.append(ks_case("missing values are left out (60 v 80 with NaN)", with_nan, other_nan))
same = normal(200)
ks.append(ks_case("identical samples (200)", same, same.copy()))
# 'auto' switches to the asymptotic p-value above 10,000 values in either sample
ks.append(ks_case("large, auto is asymptotic (10500 v 400)", normal(10500, decimals=3), normal(400, 0.1, decimals=3), methods=("auto", "asymp")))

# The KS distribution functions themselves, across every branch of scipy's method selection.
kstwo = []
smirnov = []
for n in [1, 2, 3, 5, 10, 17, 50, 100, 140, 141, 200, 500, 1000, 5000, 20000, 99999, 100001, 500000, 999999, 1000001, 2500000]:
    xs = set()
    for t in [0.3, 0.5, 0.75, 0.9, 1.0, 1.2, 2, 5]:
        xs.add(t / n)
    # above 100,000 a Smirnov sum costs a million terms: fewer points there keep the test quick
    grid = [0.1, 0.5, 0.75, 0.76, 1, 2, 2.19, 2.21, 3, 4, 4.1, 6, 10, 18, 50, 200, 369, 371, 800]
    for nx2 in grid if n <= 100001 else [0.5, 2.19, 2.21, 50, 371]:
        xs.add(math.sqrt(nx2 / n))
    for x in [0.3, 0.49, 0.5, 0.6, 0.9, 1 - 1.0 / n if n > 1 else 0.5, 1 - 0.5 / n]:
        xs.add(x)
    for x in sorted(xs):
        if 0 < x < 1:
            kstwo.append([n, x, float(stats.kstwo.sf(x, n))])
            # scipy's smirnov loses about 4e-9 at x <= 1/n for n above a million (mpmath agrees with
            # our closed form there); kstwo never evaluates it in that range, so it is left out
            if not (n > 1000000 and n * x <= 1):
                smirnov.append([n, x, float(special.smirnov(n, x))])

chi2 = []
for df in [1, 2, 3, 4, 5, 9, 10, 20, 49, 50, 99, 200]:
    for x in [0, 1e-3, 0.1, 0.5, 1, df * 0.5, df - 1, df, df + 1, df + 2, 2 * df, 3 * df + 10, 5 * df + 50, 1000, 1400]:
        chi2.append([df, x, float(stats.chi2.sf(x, df))])

chisquare = []


def chisquare_case(name, observed, expected=None):
    observed = [float(v) for v in observed]
    if expected is None:
        r = stats.chisquare(observed)
    else:
        expected = [float(v) for v in expected]
        # sums that differ are rescaled (scipy would raise): the reference is scipy on the rescaled values
        scale = sum(observed) / sum(expected)
        exp_used = expected if abs(scale - 1) <= np.finfo(float).eps ** 0.5 else [e * scale for e in expected]
        r = stats.chisquare(observed, exp_used)
    chisquare.append({"name": name, "observed": observed, "expected": expected, "statistic": float(r.statistic), "pvalue": float(r.pvalue), "dof": len(observed) - 1})


chisquare_case("uniform expected (scipy's example)", [16, 18, 16, 14, 12, 12])
chisquare_case("given expected, equal totals", [16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8])
chisquare_case("expected as proportions (totals differ, rescaled)", [43, 52, 54, 40], [0.25, 0.25, 0.25, 0.25])
chisquare_case("expected shares of another sample", [120, 310, 95, 475], [1000, 2900, 1100, 5000])
chisquare_case("large counts, tiny p-value", [10000, 13000, 9000, 12000], [11000, 11000, 11000, 11000])
counts = rng.multinomial(5000, rng.dirichlet(np.ones(50)))
chisquare_case("50 categories", counts, (rng.dirichlet(np.ones(50)) * 0.2 + counts / 5000 * 0.8) * 5000)
chisquare_case("two categories", [7, 3])

jensen = []
for name, p, q, base in [
    ("disjoint supports, base 2", [1, 0], [0, 1], 2),
    ("identical", [0.2, 0.3, 0.5], [0.2, 0.3, 0.5], 2),
    ("unnormalised with zeros, base 2", [3, 0, 5, 2, 0], [1, 4, 4, 0, 1], 2),
    ("natural log", [0.1, 0.4, 0.5], [0.3, 0.3, 0.4], math.e),
    ("base 10", [10, 20, 30, 40], [40, 30, 20, 10], 10),
    ("20 bins of counts", rng.integers(0, 500, 20), rng.integers(0, 500, 20), 2),
]:
    jensen.append({"name": name, "p": [float(v) for v in p], "q": [float(v) for v in q], "base": base, "distance": float(distance.jensenshannon(p, q, base=base))})

wasser = []
for name, u, v in [
    ("small", normal(7), normal(5, 1.0)),
    ("ties", np.round(rng.normal(0, 1, 300), 1), np.round(rng.normal(0.2, 1.1, 450), 1)),
    ("same sample", same, same.copy()),
    ("large, unequal sizes", normal(3000, decimals=3), normal(2000, 0.3, decimals=3)),
    ("exponential v normal", np.round(rng.exponential(1.0, 500), 4), normal(700, 1.0)),
]:
    wasser.append({"name": name, "u": listed(u), "v": listed(v), "distance": float(stats.wasserstein_distance(u, v))})
u = normal(50)
u[[2, 9]] = np.nan
v = normal(40, 0.5)
wasser.append({"name": "missing values are left out", "u": listed(u), "v": listed(v), "distance": float(stats.wasserstein_distance(u[~np.isnan(u)], v))})


def edges_reference(values, bins):
    """Our bin rule in numpy terms: inverted-CDF quantiles, repeats dropped, an edge at the maximum moved down."""
    x = np.sort(values[~np.isnan(values)])
    cuts = np.quantile(x, np.arange(1, bins) / bins, method="inverted_cdf") if bins > 1 else np.array([])
    edges = []
    for c in cuts:
        if not edges or c > edges[-1]:
            edges.append(float(c))
    if edges and edges[-1] >= x[-1]:
        edges.pop()
        below = x[x < x[-1]]
        if below.size and (not edges or below[-1] > edges[-1]):
            edges.append(float(below[-1]))
    return edges


def psi_reference(expected, actual, floor):
    e = np.maximum(np.asarray(expected, float) / np.sum(expected), floor)
    a = np.maximum(np.asarray(actual, float) / np.sum(actual), floor)
    return float(np.sum((a - e) * np.log(a / e)))


bins = []
for name, values, k in [
    ("continuous, 10 bins", normal(1000), 10),
    ("heavy ties at zero", np.concatenate([np.zeros(400), np.round(rng.exponential(2.0, 600), 2)]), 10),
    ("mostly the maximum", np.concatenate([np.zeros(5), np.ones(95)]), 10),
    ("constant", np.full(50, 3.5), 10),
    ("few values, many bins", np.array([1.0, 2.0, 3.0]), 10),
    ("one bin", normal(30), 1),
    ("with missing values", np.where(rng.random(300) < 0.1, np.nan, np.round(rng.normal(0, 1, 300), 3)), 5),
]:
    edges = edges_reference(values, k)
    present = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    shifted = present + 0.3
    shifted_counts = np.bincount(np.searchsorted(edges, shifted, side="left"), minlength=len(edges) + 1)
    bins.append({
        "name": name, "values": listed(values), "bins": k, "edges": edges,
        "counts": [int(c) for c in counts], "shiftedCounts": [int(c) for c in shifted_counts],
        "psi": psi_reference(counts, shifted_counts, 1e-4), "psiFloor1e-3": psi_reference(counts, shifted_counts, 1e-3),
    })

versions = {"scipy": scipy.__version__, "numpy": np.__version__}
with open(os.path.join(OUT, "ks.json"), "w") as f:
    json.dump({"versions": versions, "cases": ks}, f, separators=(",", ":"))
with open(os.path.join(OUT, "scipy.json"), "w") as f:
    json.dump({"versions": versions, "kstwo": kstwo, "smirnov": smirnov, "chi2": chi2, "chisquare": chisquare,
               "jensenshannon": jensen, "wasserstein": wasser, "bins": bins}, f, separators=(",", ":"))
print(f"wrote {len(ks)} KS cases, {len(kstwo)} kstwo, {len(smirnov)} smirnov, {len(chi2)} chi2 points,"
      f" {len(chisquare)} chisquare, {len(jensen)} jensenshannon, {len(wasser)} wasserstein, {len(bins)} bin cases")
