"""``shipyard quickstart``: the whole registry flow on scikit-learn's bundled data, no download.

Trains a small classifier, registers it with lineage and a reference profile, promotes it to
production and scores a file — in the current SHIPYARD_HOME — then serves it (unless
``--no-serve``) and prints a key and a ready-to-paste ``curl``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import output
from shipyard.core.settings import Settings

MODEL_NAME = "breast-cancer"


def quickstart(
    name: Annotated[str, typer.Option(help="Model name to register.")] = MODEL_NAME,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the model at the end.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on (0 picks a free one).")] = 8000,
) -> None:
    """Train, register, promote, score and serve a demo model on bundled data."""
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from shipyard.registry.scoring import score_file
    from shipyard.registry.service import Registry
    from shipyard.registry.setup import initialise

    settings = Settings.from_env()
    result = initialise(settings)
    workdir = settings.home / "quickstart"
    workdir.mkdir(parents=True, exist_ok=True)
    frame = load_breast_cancer(as_frame=True).frame
    train, valid = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame.target)
    features = [c for c in frame.columns if c != "target"]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    model.fit(train[features], train.target)
    accuracy = float(accuracy_score(valid.target, model.predict(valid[features])))
    sio.dump(model, workdir / "model.skops")
    valid.to_csv(workdir / "validation.csv", index=False)
    valid[features].to_csv(workdir / "to_score.csv", index=False)
    output.console.print(f"Trained a logistic regression: validation accuracy {accuracy:.3f}")

    with Registry.open(settings) as registry:
        version = registry.register(
            name,
            workdir / "model.skops",
            sample_data=workdir / "validation.csv",
            target="target",
            metrics={"accuracy": accuracy},
            params={"C": 0.5, "model": "LogisticRegression"},
            data_version="sklearn-breast-cancer",
            description="Flags malignant tumours from 30 cell-nucleus measurements.",
            intended_use="Shipyard quickstart; not for clinical use.",
            limitations="Trained on one small public dataset.",
        ).version
        registry.promote(version.ref, "production", reason="quickstart")
        loaded = registry.load(f"{name}:production")
    summary = score_file(loaded, workdir / "to_score.csv", workdir / "scored.csv")
    output.console.print(
        f"Registered and promoted [bold]{version.ref}[/]; scored {summary.rows} rows → "
        f"{summary.output}"
    )
    if result.admin_secret:
        output.console.print(f"Admin API key (shown once): [bold]{result.admin_secret}[/]")
    output.console.print(
        "Next: `shipyard models show "
        f"{name}:production`, `shipyard audit list`, `shipyard audit verify`."
    )
    if serve:
        _serve(settings, name, valid.drop(columns="target").iloc[0].to_dict(), port)


def _serve(settings: Settings, name: str, row: dict[str, float], port: int) -> None:
    import json

    from shipyard.registry.service import Registry
    from shipyard.server.options import ServeOptions
    from shipyard.server.run import serve as run_server

    with Registry.open(settings) as registry:
        _, key = registry.create_key("predictor", name="quickstart-client")
    body = json.dumps({"instances": [{k: float(v) for k, v in row.items()}]})

    def announce(url: str) -> None:
        output.console.print(
            f"\nServing [bold]{name}[/] on {url} (Ctrl-C stops it). Predictor key (shown once): "
            f"[bold]{key}[/]\nTry:\n  curl -s {url}/v1/endpoints/{name}/predict "
            f"-H 'Authorization: Bearer {key}' -d '{body}'",
            highlight=False,
            soft_wrap=True,
        )

    run_server(settings, ServeOptions(), host="127.0.0.1", port=port, announce=announce)
