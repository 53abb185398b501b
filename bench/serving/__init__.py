"""The serving benchmark: Shipyard vs a bare server, an echo floor, MLflow and BentoML.

Run it with ``make bench`` (or ``.venv/bin/python bench/run.py --serving-only --quick``);
``bench/serving/README.md`` explains what is measured and why.
"""
