"""The control plane: management REST over the registry (``/api/v1/…``) and the OpenAPI document."""
