"""The Python client of a running Shipyard server: ``Client`` and what its calls return.

Light on purpose: importing it loads httpx, orjson and ``shipyard.core`` only, so calling
systems need neither the registry's store nor the model frameworks.
"""

from __future__ import annotations

from shipyard.client.http import Client
from shipyard.client.prediction import Prediction
from shipyard.core.errors import RemoteError, ServerUnavailableError

__all__ = ["Client", "Prediction", "RemoteError", "ServerUnavailableError"]
