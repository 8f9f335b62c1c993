"""scikit-learn side of bench/gbdt.ts: HistGradientBoostingClassifier with the same settings on the
same rows, limited to the given number of OpenMP threads."""
import json
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from threadpoolctl import threadpool_limits

prefix, rows, cols, rounds, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.fromfile(prefix + ".x.f64", dtype=np.float64).reshape(rows, cols)
y = np.fromfile(prefix + ".y.f64", dtype=np.float64)
split = int(rows * 0.8)
model = HistGradientBoostingClassifier(
    max_iter=rounds, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0,
    max_bins=255, early_stopping=False, random_state=0,
)
with threadpool_limits(limits=threads):
    started = time.perf_counter()
    model.fit(X[:split], y[:split])
    seconds = time.perf_counter() - started
auc = roc_auc_score(y[split:], model.predict_proba(X[split:])[:, 1])
print(json.dumps({"seconds": seconds, "auc": auc, "rounds": int(model.n_iter_)}))
