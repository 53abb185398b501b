"""The registry micro-benchmark: register, load and in-process predict, so regressions show up.

Writes bench/results/registry.json. Run by bench/run.py (``make bench``) before the serving
benchmark.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard import Batch, Registry, Settings, initialise

RESULTS = Path(__file__).with_name("results")


def main() -> None:
    """Measure register, load and a 1-row predict; write registry.json."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame
    features = frame.drop(columns="target")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(features, frame["target"])
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(),
        "host_cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = Settings.for_home(home)
        initialise(settings)
        artifact = home / "model.skops"
        sio.dump(model, artifact)
        sample = home / "sample.csv"
        frame.to_csv(sample, index=False)
        with Registry.open(settings) as registry:
            started = time.perf_counter()
            for _ in range(5):
                registry.register("bench", artifact, sample_data=sample, target="target")
            results["register_seconds_each"] = (time.perf_counter() - started) / 5
            started = time.perf_counter()
            loaded = registry.load("bench:latest")
            results["load_seconds"] = time.perf_counter() - started
        batch = Batch.from_matrix(features.to_numpy()[:1], list(features.columns))
        timings = []
        for _ in range(200):
            started = time.perf_counter()
            loaded.predictor.predict(batch)
            timings.append(time.perf_counter() - started)
        results["predict_1_row_p50_ms"] = float(np.median(timings) * 1000)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "registry.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out}")
