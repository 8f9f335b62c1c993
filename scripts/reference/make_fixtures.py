"""Reference results from scikit-learn, scipy and numpy, for test/reference.test.ts.

Run once when the fixtures must change (the libraries are not project dependencies):
    python3 -m pip install --target /tmp/pyref scikit-learn scipy
    PYTHONPATH=/tmp/pyref python3 scripts/reference/make_fixtures.py
It writes test/fixtures/reference/sklearn.json.
"""
import csv
import json
import os

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, brier_score_loss, f1_score, log_loss, precision_score, recall_score, roc_auc_score

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rows = list(csv.reader(open(os.path.join(ROOT, "datasets", "breast-cancer-wisconsin.csv"))))
header, body = rows[0], rows[1:]
features = header[:-1]
X = np.array([[float(v) for v in r[:-1]] for r in body])
y = np.array([1 if r[-1] == "malignant" else 0 for r in body])
n = len(y)

# Our objective is mean log loss + (l2 / 2) * ||w||^2 on standardised features (population std);
# scikit-learn's is C * sum log loss + ||w||^2 / 2, so C = 1 / (n * l2).
Z = (X - X.mean(axis=0)) / X.std(axis=0)
logistic = []
for l2 in [1e-3, 1e-2, 1e-1]:
    model = LogisticRegression(C=1.0 / (n * l2), solver="lbfgs", tol=1e-12, max_iter=100000)
    model.fit(Z, y)
    logistic.append({"l2": l2, "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0])})

# Metrics on a small case with tied scores.
y_true = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1]
score = [0.9, 0.8, 0.8, 0.6, 0.55, 0.5, 0.5, 0.3, 0.3, 0.3, 0.1, 0.05]
predicted = [1 if s >= 0.5 else 0 for s in score]
metrics = {
    "y": y_true,
    "score": score,
    "auc": roc_auc_score(y_true, score),
    "prAuc": average_precision_score(y_true, score),
    "brier": brier_score_loss(y_true, score),
    "logLoss": log_loss(y_true, score),
    "accuracy": accuracy_score(y_true, predicted),
    "precision": precision_score(y_true, predicted),
    "recall": recall_score(y_true, predicted),
    "f1": f1_score(y_true, predicted),
}

quantiles = {
    name: {f"p{int(q * 100):02d}": float(np.quantile(X[:, j], q)) for q in [0.05, 0.25, 0.5, 0.75, 0.95]}
    for j, name in enumerate(features)
}

out = {
    "generatedBy": f"scripts/reference/make_fixtures.py with scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, numpy {np.__version__}",
    "logistic": logistic,
    "metrics": metrics,
    "quantiles": quantiles,
}
path = os.path.join(ROOT, "test", "fixtures", "reference", "sklearn.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print(f"wrote {path}")

# Multinomial logistic regression on iris and ridge regression on breast cancer (radius_mean from the
# other features), both on standardised features with our parameterisation of the L2 strength.
from sklearn.linear_model import Ridge

iris = list(csv.reader(open(os.path.join(ROOT, "datasets", "iris.csv"))))
iris_header, iris_rows = iris[0], iris[1:]
Xi = np.array([[float(v) for v in r[:4]] for r in iris_rows])
species = sorted(set(r[4] for r in iris_rows))
yi = np.array([species.index(r[4]) for r in iris_rows])
Zi = (Xi - Xi.mean(axis=0)) / Xi.std(axis=0)
softmax = []
for l2 in [1e-2, 1e-1]:
    m = LogisticRegression(C=1.0 / (len(yi) * l2), solver="lbfgs", tol=1e-12, max_iter=100000)
    m.fit(Zi, yi)
    softmax.append({"l2": l2, "classes": species, "coef": m.coef_.tolist(), "intercept": m.intercept_.tolist()})

# Ridge: mean squared error / 2 + (l2 / 2) ||w||^2  <=>  sklearn alpha = n * l2 on the summed squares.
target = features.index("radius_mean")
Xr = np.delete(Z, target, axis=1)
yr = X[:, target]
ridge = []
for l2 in [1e-3, 1e-1]:
    m = Ridge(alpha=n * l2, solver="cholesky")
    m.fit(Xr, yr)
    ridge.append({"l2": l2, "coef": m.coef_.tolist(), "intercept": float(m.intercept_)})

# L1: mean log loss + l1 * ||w||_1  <=>  C * sum log loss + ||w||_1 with C = 1 / (n * l1); saga leaves the
# intercept unpenalised, as we do. Coefficients at zero must be exactly zero on both sides.
logistic_l1 = []
for l1 in [1e-3, 1e-2]:
    m = LogisticRegression(l1_ratio=1.0, C=1.0 / (n * l1), solver="saga", tol=1e-12, max_iter=1000000)
    m.fit(Z, y)
    logistic_l1.append({"l1": l1, "coef": m.coef_[0].tolist(), "intercept": float(m.intercept_[0])})

out["softmax"] = softmax
out["ridge"] = ridge
out["logisticL1"] = logistic_l1
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("added softmax, ridge and L1 logistic references")
