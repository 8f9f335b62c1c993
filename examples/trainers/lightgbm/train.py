"""A registered trainer: LightGBM, exported with onnxmltools.

Reads MLOPS_INPUT_DIR/train.csv (numeric columns; text columns are left out) and writes
MLOPS_OUTPUT_DIR/model.onnx, metrics.json, and features.json, which tells the platform which column
feeds each position of the graph's one [N, k] input. params.json holds LightGBM's own parameters
(num_leaves, learning_rate, n_estimators, ...).
"""
import json
import os
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType

inputs, outputs = os.environ["MLOPS_INPUT_DIR"], os.environ["MLOPS_OUTPUT_DIR"]
schema = json.load(open(os.path.join(inputs, "schema.json")))
params = json.load(open(os.path.join(inputs, "params.json")))
target, task = schema["target"], schema["task"]
features = [c["name"] for c in schema["columns"] if c["type"] == "number" and c["name"] != target]

started = time.time()
train = pd.read_csv(os.path.join(inputs, "train.csv"), dtype={target: str} if task != "regression" else None)
valid = pd.read_csv(os.path.join(inputs, "validation.csv"), dtype={target: str} if task != "regression" else None)
x_train, x_valid = train[features].to_numpy(np.float32), valid[features].to_numpy(np.float32)
print(f"read {len(train)} rows in {time.time() - started:.2f} s", flush=True)

settings = {"n_estimators": 100, "num_leaves": 31, "learning_rate": 0.1, "random_state": 0, "verbose": -1, **params}
if task == "regression":
    model = lgb.LGBMRegressor(**settings).fit(x_train, train[target].to_numpy(np.float64))
    metrics = {"validation_mae": float(np.mean(np.abs(model.predict(x_valid) - valid[target].to_numpy())))}
else:
    model = lgb.LGBMClassifier(**settings).fit(x_train, train[target])
    metrics = {"validation_accuracy": float(np.mean(model.predict(x_valid) == valid[target].to_numpy()))}
print(json.dumps(metrics), f"trained in {time.time() - started:.2f} s", flush=True)

onnx_model = convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, len(features)]))], zipmap=False, target_opset=15)
with open(os.path.join(outputs, "model.onnx"), "wb") as f:
    f.write(onnx_model.SerializeToString())
json.dump(metrics, open(os.path.join(outputs, "metrics.json"), "w"))
json.dump({"input": features}, open(os.path.join(outputs, "features.json"), "w"))
