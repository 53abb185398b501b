"""Save the benchmark model as an MLflow model (run in the MLflow virtualenv).

``python mlflow_save.py MODEL.skops OUT_DIR FEATURES_JSON TRUSTED_JSON``. The model comes from
the same skops file as every other server; the signature names the 30 columns, as a user logging
a model from a DataFrame would have, so ``/invocations`` takes ``dataframe_split`` with those
columns. MLflow 3 saves scikit-learn models with skops by default and wants the types it does not
trust by default named at save time (they are recorded in the MLmodel file for loading).
"""

from __future__ import annotations

import json
import sys

import mlflow.sklearn
import numpy as np
import pandas as pd
import skops.io as sio
from mlflow.models import infer_signature


def main() -> None:
    model_path, out_dir, features_json, trusted_json = sys.argv[1:5]
    names = json.loads(features_json)
    trusted = json.loads(trusted_json)
    # Our own file, written by the harness a moment ago: trusting its types is safe here.
    model = sio.load(model_path, trusted=trusted)
    example = pd.DataFrame(np.zeros((1, len(names))), columns=names)
    signature = infer_signature(example, model.predict(example.to_numpy()))
    mlflow.sklearn.save_model(model, out_dir, signature=signature, skops_trusted_types=trusted)


if __name__ == "__main__":
    main()
