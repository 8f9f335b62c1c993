"""A registered trainer: scikit-learn, exported with skl2onnx.

The platform runs it with MLOPS_INPUT_DIR (train.csv, validation.csv, schema.json, params.json) and
MLOPS_OUTPUT_DIR, where it writes model.onnx and metrics.json. Numbers are imputed and scaled, text is
one-hot encoded, inside the exported graph: the served model takes the raw columns, one input each.
params.json: {"model": "forest" | "logistic", "n_estimators": 100, "max_depth": null, "seed": 0}.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_absolute_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

inputs, outputs = os.environ["MLOPS_INPUT_DIR"], os.environ["MLOPS_OUTPUT_DIR"]
schema = json.load(open(os.path.join(inputs, "schema.json")))
params = json.load(open(os.path.join(inputs, "params.json")))
target, task = schema["target"], schema["task"]
numeric = [c["name"] for c in schema["columns"] if c["type"] == "number" and c["name"] != target]
text = [c["name"] for c in schema["columns"] if c["type"] == "string" and c["name"] != target]


def read(name):
    frame = pd.read_csv(os.path.join(inputs, name), dtype={c: str for c in text + ([target] if task != "regression" else [])}, keep_default_na=False, na_values={c: [""] for c in numeric})
    for c in text:
        frame[c] = frame[c].fillna("")
    return frame[numeric + text].astype({c: np.float32 for c in numeric}), frame[target]


x_train, y_train = read("train.csv")
x_valid, y_valid = read("validation.csv")
print(f"training on {len(x_train)} rows, {len(numeric)} numeric and {len(text)} text columns", flush=True)

seed = int(params.get("seed", 0))
if task == "regression":
    estimator = Ridge() if params.get("model") == "logistic" else RandomForestRegressor(n_estimators=int(params.get("n_estimators", 100)), max_depth=params.get("max_depth"), random_state=seed)
else:
    estimator = LogisticRegression(max_iter=2000) if params.get("model") == "logistic" else RandomForestClassifier(n_estimators=int(params.get("n_estimators", 100)), max_depth=params.get("max_depth"), random_state=seed)
model = Pipeline([
    ("prepare", ColumnTransformer([
        ("numbers", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numeric),
        *([("text", OneHotEncoder(handle_unknown="ignore"), text)] if text else []),
    ])),
    ("model", estimator),
])
model.fit(x_train, y_train)

predicted = model.predict(x_valid)
metrics = {"validation_mae": float(mean_absolute_error(y_valid, predicted))} if task == "regression" else {"validation_accuracy": float(accuracy_score(y_valid, predicted))}
print(json.dumps(metrics), flush=True)

initial_types = [(c, FloatTensorType([None, 1])) for c in numeric] + [(c, StringTensorType([None, 1])) for c in text]
options = None if task == "regression" else {id(model): {"zipmap": False}}
onnx_model = to_onnx(model, initial_types=initial_types, options=options, target_opset={"": 17, "ai.onnx.ml": 3})
with open(os.path.join(outputs, "model.onnx"), "wb") as f:
    f.write(onnx_model.SerializeToString())
json.dump(metrics, open(os.path.join(outputs, "metrics.json"), "w"))
print("wrote model.onnx", file=sys.stderr, flush=True)
