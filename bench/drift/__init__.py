"""The drift benchmark: Shipyard's drift engine against Evidently's DataDriftPreset, same Parquet.

``python -m drift`` from bench/ (or ``bench/run.py --drift-only``); README.md says what is
measured. Stdlib-only at import: the Evidently runner imports this package inside the Evidently
virtualenv, which has neither Shipyard nor the project's dependencies.
"""
