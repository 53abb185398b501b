"""The ``shipyard serve`` process: one ASGI app with the control and data planes, on uvicorn."""
