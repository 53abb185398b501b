"""The BentoML 1.4 service (copied as ``service.py`` and run in the BentoML virtualenv).

Written the way BentoML's own scikit-learn example is: a ``@bentoml.service`` class that loads
the model in ``__init__`` and a synchronous ``@bentoml.api`` taking a numpy array. BentoML 1.4's
``bentoml serve`` has no ``--workers`` flag; the worker count is the service's ``workers``
setting, read here from ``BENCH_WORKERS``.

Body: ``{"instances": [[30 floats]]}``; answer: ``[class]``.
"""

from __future__ import annotations

import os

import bentoml
import numpy as np
import skops.io as sio

_PATH = os.environ["BENCH_MODEL"]


@bentoml.service(workers=int(os.environ.get("BENCH_WORKERS", "1")))
class Classifier:
    def __init__(self) -> None:
        # Our own file, written by the harness a moment ago: trusting its types is safe here.
        self.model = sio.load(_PATH, trusted=sio.get_untrusted_types(file=_PATH))

    @bentoml.api
    def predict(self, instances: np.ndarray) -> np.ndarray:
        return self.model.predict(instances)
