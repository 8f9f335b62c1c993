"""scikit-learn side of bench/logistic.ts: fits LogisticRegression(solver="lbfgs") on the same rows."""
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

prefix, rows, cols, l2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
X = np.fromfile(prefix + ".x.f64", dtype=np.float64).reshape(rows, cols)
y = np.fromfile(prefix + ".y.f64", dtype=np.float64)
split = int(rows * 0.8)
started = time.perf_counter()
mean, std = X[:split].mean(axis=0), X[:split].std(axis=0)
Z = (X - mean) / std
model = LogisticRegression(C=1.0 / (split * l2), solver="lbfgs", max_iter=1000)
model.fit(Z[:split], y[:split])
seconds = time.perf_counter() - started
auc = roc_auc_score(y[split:], model.predict_proba(Z[split:])[:, 1])
print(json.dumps({"seconds": seconds, "auc": auc, "iterations": int(model.n_iter_[0])}))
