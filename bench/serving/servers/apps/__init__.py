"""Programs run by the servers themselves (some in the peers' virtualenvs), not imported here.

This directory is put on the servers' import path (uvicorn ``--app-dir``, BentoML's working
directory), so no module here may share a name with a package they import.
"""
