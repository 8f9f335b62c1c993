"""scipy / numpy side of bench/drift.ts: ks_2samp and a numpy PSI per feature on the same rows.

Reads the two column-major float64 files bench/drift.ts wrote, then for each feature runs
scipy.stats.ks_2samp(reference, current) (two-sided, method 'auto') and a PSI over ten reference-quantile
bins (np.quantile with method 'inverted_cdf', repeated edges dropped, an edge at the maximum moved down,
np.searchsorted + np.bincount for the counts). Prints one JSON line: per-feature results and timings.
"""
import json
import sys
import time

import numpy as np
from scipy import stats

prefix, rows, cols, bins, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
reference = np.fromfile(prefix + ".ref.f64", dtype=np.float64).reshape(cols, rows)
current = np.fromfile(prefix + ".cur.f64", dtype=np.float64).reshape(cols, rows)


def quantile_edges(x, k):
    edges = np.unique(np.quantile(x, np.arange(1, k) / k, method="inverted_cdf"))
    top = x.max()
    if edges.size and edges[-1] >= top:
        edges = edges[:-1]
        below = x[x < top]
        if below.size and (edges.size == 0 or below.max() > edges[-1]):
            edges = np.append(edges, below.max())
    return edges


def psi(ref, cur, edges, floor=1e-4):
    e = np.maximum(np.bincount(np.searchsorted(edges, ref, side="left"), minlength=edges.size + 1) / ref.size, floor)
    a = np.maximum(np.bincount(np.searchsorted(edges, cur, side="left"), minlength=edges.size + 1) / cur.size, floor)
    return float(np.sum((a - e) * np.log(a / e)))


timings = []
for run in range(runs):
    features = []
    ks_seconds = psi_seconds = 0.0
    started = time.perf_counter()
    for j in range(cols):
        t0 = time.perf_counter()
        r = stats.ks_2samp(reference[j], current[j])
        t1 = time.perf_counter()
        p = psi(reference[j], current[j], quantile_edges(reference[j], bins))
        t2 = time.perf_counter()
        ks_seconds += t1 - t0
        psi_seconds += t2 - t1
        features.append({"statistic": float(r.statistic), "pvalue": float(r.pvalue), "psi": p})
    timings.append({"seconds": time.perf_counter() - started, "ks": ks_seconds, "psi": psi_seconds})
print(json.dumps({"timings": timings, "features": features}))
