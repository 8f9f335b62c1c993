"""Trains models with outside frameworks on bundled datasets and writes them as ONNX files, the way a
team that trains elsewhere would bring them to the platform.

    python3 -m pip install -r examples/export/requirements.txt        # torch: requirements-torch.txt
    python3 examples/export/export_models.py OUT_DIR

For every model it writes OUT_DIR/<name>.onnx, and into OUT_DIR/expected.json what the framework itself
predicts (predict_proba and predict, or predict for a regression) for the rows of the evaluation CSV
the model is scored on, so the platform's answers for the imported file can be held to the framework's.
Models whose framework cannot be imported (torch is optional) are listed under "skipped" with the reason.

Everything is seeded: running it twice trains the same models.
"""
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASETS = os.path.join(ROOT, "datasets")
SEED = 7


def season_of(month):
    return {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
            6: "summer", 7: "summer", 8: "summer"}.get(month, "autumn")


def weather_table():
    """datasets/seattle-weather.csv with a text column and missing numbers, for the cases the bundled
    files lack: `season` (text, from the date), `rain_tomorrow` (1 when the next day had precipitation,
    else 0; the last day has no next day and is dropped), and some numbers blanked on a fixed pattern
    (wind on every 9th day, temp_min on every 13th), as a sensor outage would leave them."""
    raw = pd.read_csv(os.path.join(DATASETS, "seattle-weather.csv"))
    month = pd.to_datetime(raw["date"], format="%Y/%m/%d").dt.month
    table = pd.DataFrame({
        "precipitation": raw["precipitation"],
        "temp_max": raw["temp_max"],
        "temp_min": raw["temp_min"],
        "wind": raw["wind"],
        "season": month.map(season_of),
        "weather": raw["weather"],
        "rain_tomorrow": (raw["precipitation"].shift(-1) > 0).astype("int64"),
    }).iloc[:-1].reset_index(drop=True)
    day = np.arange(len(table))
    table.loc[day % 9 == 4, "wind"] = np.nan
    table.loc[day % 13 == 6, "temp_min"] = np.nan
    return table


def split(table, stratify=None):
    """A seeded 75/25 split; the evaluation rows keep the table's order."""
    from sklearn.model_selection import train_test_split
    train, evaluation = train_test_split(np.arange(len(table)), test_size=0.25, random_state=SEED, stratify=stratify)
    return table.iloc[np.sort(train)].reset_index(drop=True), table.iloc[np.sort(evaluation)].reset_index(drop=True)


def write_csv(frame, path):
    # repr-exact floats and empty cells for missing numbers, as the platform's CSV reader expects
    frame.to_csv(path, index=False, float_format=None, na_rep="")


def classifier_answer(model, X, classes=None):
    classes = [str(c) for c in (model.classes_ if classes is None else classes)]
    return {
        "classes": classes,
        "labels": [str(v) for v in model.predict(X)],
        "probabilities": np.asarray(model.predict_proba(X), dtype=np.float64).tolist(),
    }


def export_sklearn(out, weather_train, weather_eval, cancer_train, cancer_eval):
    """A Pipeline with its preprocessing inside (one graph input per column), a RandomForest on one
    tensor input, and a regression; skl2onnx's default options, so classifiers end in a ZipMap."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def column_inputs(columns, text):
        # one [N, 1] input per column, named after it: the platform matches inputs to columns by name
        return [(c, StringTensorType([None, 1]) if c in text else FloatTensorType([None, 1])) for c in columns]

    def preprocessing(numeric, text):
        return ColumnTransformer([
            ("numbers", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
            ("text", OneHotEncoder(handle_unknown="ignore"), text),
        ])

    models = []

    numeric = ["precipitation", "temp_max", "temp_min", "wind"]
    columns = numeric + ["season"]
    pipeline = Pipeline([("prepare", preprocessing(numeric, ["season"])), ("model", LogisticRegression(max_iter=2000))])
    pipeline.fit(weather_train[columns], weather_train["weather"])
    onnx_model = to_onnx(pipeline, initial_types=column_inputs(columns, {"season"}))
    models.append(save(out, "weather_logistic_pipeline", onnx_model, {
        "framework": "scikit-learn", "data": "weather-evaluation.csv", "target": "weather", "task": "multiclass",
        **classifier_answer(pipeline, weather_eval[columns]),
    }))

    regression_numeric = ["precipitation", "temp_min", "wind"]
    regression_columns = regression_numeric + ["season"]
    ridge = Pipeline([("prepare", preprocessing(regression_numeric, ["season"])), ("model", Ridge(alpha=1.0))])
    ridge.fit(weather_train[regression_columns], weather_train["temp_max"])
    onnx_model = to_onnx(ridge, initial_types=column_inputs(regression_columns, {"season"}))
    models.append(save(out, "weather_ridge_pipeline", onnx_model, {
        "framework": "scikit-learn", "data": "weather-evaluation.csv", "target": "temp_max", "task": "regression",
        "values": [float(v) for v in ridge.predict(weather_eval[regression_columns])],
    }))

    features = [c for c in cancer_train.columns if c != "diagnosis"]
    forest = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=SEED)
    forest.fit(cancer_train[features].to_numpy(np.float32), cancer_train["diagnosis"])
    # zipmap off: labels and a probability tensor, the other output layout converters write
    onnx_model = to_onnx(forest, initial_types=[("X", FloatTensorType([None, len(features)]))],
                         options={id(forest): {"zipmap": False}})
    models.append(save(out, "breast_cancer_random_forest", onnx_model, {
        "framework": "scikit-learn", "data": "breast-cancer-evaluation.csv", "target": "diagnosis", "task": "binary",
        **classifier_answer(forest, cancer_eval[features].to_numpy(np.float32)),
    }))
    return models


def export_lightgbm(out, weather_train, weather_eval):
    """LightGBM through onnxmltools: one [N, 4] tensor input (missing numbers go in as NaN, which
    LightGBM's trees route themselves) and a ZipMap keyed by the integer classes 0 and 1."""
    import lightgbm
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    numeric = ["precipitation", "temp_max", "temp_min", "wind"]
    model = lightgbm.LGBMClassifier(n_estimators=60, num_leaves=15, learning_rate=0.1, random_state=SEED, deterministic=True, verbose=-1)
    model.fit(weather_train[numeric].to_numpy(np.float32), weather_train["rain_tomorrow"])
    onnx_model = onnxmltools.convert_lightgbm(model, name="weather_lightgbm", initial_types=[("input", FloatTensorType([None, len(numeric)]))])
    return [save(out, "weather_lightgbm", onnx_model, {
        "framework": "lightgbm", "data": "weather-evaluation.csv", "target": "rain_tomorrow", "task": "binary",
        "features": {"input": numeric},
        **classifier_answer(model, weather_eval[numeric].to_numpy(np.float32)),
    })]


def export_torch(out, iris_train, iris_eval):
    """A small PyTorch MLP with a Softmax head, through torch.onnx: one [N, 4] input with a dynamic
    batch axis and one probability tensor. A bare tensor carries no class names, so they are written
    into the file's metadata (`classes`, a JSON list), where the platform looks for them."""
    import onnx
    import torch

    torch.manual_seed(SEED)
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    classes = sorted(iris_train["species"].unique())
    x = torch.tensor(iris_train[features].to_numpy(np.float32))
    y = torch.tensor(iris_train["species"].map({c: i for i, c in enumerate(classes)}).to_numpy())
    mean, std = x.mean(0), x.std(0)

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)
            self.layers = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, len(classes)))

        def forward(self, features):
            return torch.softmax(self.layers((features - self.mean) / self.std), dim=1)

    net = Classifier()
    optimiser = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(300):
        optimiser.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(x) + 1e-9), y)
        loss.backward()
        optimiser.step()
    net.eval()
    path = os.path.join(out, "iris_torch_mlp.onnx")
    example = torch.zeros(2, 4)
    kwargs = dict(input_names=["features"], output_names=["probabilities"], opset_version=17,
                  dynamic_axes={"features": {0: "N"}, "probabilities": {0: "N"}})
    with warnings.catch_warnings():
        # the TorchScript exporter needs no onnxscript; torch 2.9 and later default to the dynamo one
        # and warn that this one is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, (example,), path, dynamo=False, **kwargs)
    onnx_model = onnx.load(path)
    onnx.helper.set_model_props(onnx_model, {"classes": json.dumps(classes)})
    with torch.no_grad():
        probabilities = net(torch.tensor(iris_eval[features].to_numpy(np.float32))).double().numpy()
    return [save(out, "iris_torch_mlp", onnx_model, {
        "framework": "pytorch", "data": "iris-evaluation.csv", "target": "species", "task": "multiclass",
        "features": {"features": features},
        "classes": classes,
        "labels": [classes[i] for i in probabilities.argmax(1)],
        "probabilities": probabilities.tolist(),
    })]


def save(out, name, onnx_model, answer):
    file = f"{name}.onnx"
    with open(os.path.join(out, file), "wb") as f:
        f.write(onnx_model.SerializeToString())
    return {"name": name, "file": file, **answer}


def versions():
    found = {}
    for module in ["numpy", "pandas", "sklearn", "skl2onnx", "lightgbm", "onnxmltools", "onnx", "torch"]:
        try:
            found[module] = __import__(module).__version__
        except ImportError:
            pass
    return found


def main(out):
    os.makedirs(out, exist_ok=True)
    weather = weather_table()
    weather_train, weather_eval = split(weather, stratify=weather["weather"])
    cancer = pd.read_csv(os.path.join(DATASETS, "breast-cancer-wisconsin.csv"))
    cancer_train, cancer_eval = split(cancer, stratify=cancer["diagnosis"])
    iris = pd.read_csv(os.path.join(DATASETS, "iris.csv"))
    iris_train, iris_eval = split(iris, stratify=iris["species"])
    write_csv(weather_eval, os.path.join(out, "weather-evaluation.csv"))
    write_csv(cancer_eval, os.path.join(out, "breast-cancer-evaluation.csv"))
    write_csv(iris_eval, os.path.join(out, "iris-evaluation.csv"))
    # the training rows too, so a model can be retrained or inspected beside what it was scored on
    write_csv(weather_train, os.path.join(out, "weather-training.csv"))

    models = export_sklearn(out, weather_train, weather_eval, cancer_train, cancer_eval)
    models += export_lightgbm(out, weather_train, weather_eval)
    skipped = []
    try:
        import torch  # noqa: F401  (optional: its wheels are large and not built for every machine)
    except Exception as err:  # ImportError, or a wheel whose native libraries are missing
        skipped.append({"name": "iris_torch_mlp", "reason": f"torch cannot be imported: {type(err).__name__}: {err}"[:300]})
    else:
        models += export_torch(out, iris_train, iris_eval)

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"versions": versions(), "models": models, "skipped": skipped}, f, indent=1)
    print(json.dumps({"models": [m["name"] for m in models], "skipped": skipped}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: export_models.py OUT_DIR")
    if os.environ.get("PYTHONHASHSEED") != "0":
        # skl2onnx lists opsets in set order, which follows string hashing: a fixed seed makes the
        # same training give the same bytes
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    main(sys.argv[1])
