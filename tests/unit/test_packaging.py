"""The public surface: a light `import shipyard`, a complete `__all__`, extras named on demand."""

from __future__ import annotations

import subprocess
import sys

import shipyard

HEAVY = ("sqlalchemy", "sklearn", "pandas", "pyarrow", "numpy", "onnxruntime", "torch", "boto3")


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_import_shipyard_is_light() -> None:
    done = python(
        f"import sys, shipyard; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_every_public_name_resolves() -> None:
    for name in shipyard.__all__:
        assert getattr(shipyard, name) is not None, name
    assert "Registry" in shipyard.__all__ and "Batch" in shipyard.__all__
    assert "Client" in shipyard.__all__


def test_missing_extra_is_named() -> None:
    # Block onnxruntime the way a machine without the `onnx` extra lacks it.
    done = python(
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from pathlib import Path\n"
        "from shipyard.core.errors import MissingExtraError\n"
        "from shipyard.flavors import load_predictor\n"
        "try:\n"
        "    load_predictor('onnx', Path('m.onnx'))\n"
        "except MissingExtraError as e:\n"
        "    print(e.message)\n"
    )
    assert "pip install 'shipyard-ml[onnx]'" in done.stdout, done.stderr


def test_cli_help_needs_no_extras() -> None:
    done = python(
        "import sys\n"
        "for m in ('onnxruntime', 'torch', 'xgboost', 'lightgbm', 'boto3', 'psycopg'):\n"
        "    sys.modules[m] = None\n"
        "sys.argv = ['shipyard', '--help']\n"
        "from shipyard.cli.main import run\n"
        "run()\n"
    )
    assert done.returncode == 0, done.stderr
    assert "register" in done.stdout


def test_loading_skops_does_not_import_torch() -> None:
    """skops's trusted-type walk would import all of torch (seconds, hundreds of MB)."""
    code = (
        "import sys\n"
        "from shipyard.flavors.sklearn import import_skops\n"
        "sio = import_skops()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'sklearn.utils._param_validation' in sys.modules\n"
        "import sklearn.externals.array_api_compat.torch\n"  # still importable afterwards
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
