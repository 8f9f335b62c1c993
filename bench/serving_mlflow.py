"""MLflow side of bench/serving.ts: fits a scikit-learn LogisticRegression (standardised features) on the
same CSV our pipeline trains on and saves it as an MLflow model that `mlflow models serve` can load.

    python3 bench/serving_mlflow.py <csv> <target column> <output folder>

Prints one JSON line: versions, feature names and the folder. The saved model answers class probabilities
(`predict_proba`), as our predict does, and carries a signature, so MLflow checks every request's columns
and types (its counterpart of our validation).
"""
import json
import sys
import time

import mlflow
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

csv, target, out = sys.argv[1], sys.argv[2], sys.argv[3]
frame = pd.read_csv(csv)
X = frame.drop(columns=[target]).astype(np.float64)
y = frame[target].astype(str)
started = time.perf_counter()
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
seconds = time.perf_counter() - started
mlflow.sklearn.save_model(
    model,
    out,
    signature=infer_signature(X, model.predict_proba(X)),
    pyfunc_predict_fn="predict_proba",
)
print(json.dumps({
    "mlflow": mlflow.__version__,
    "sklearn": sklearn.__version__,
    "python": sys.version.split()[0],
    "features": list(X.columns),
    "fitSeconds": seconds,
    "trainAccuracy": float(model.score(X, y)),
    "path": out,
}))
