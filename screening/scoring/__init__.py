"""Clinical scoring core of ``screening``: baselines, deviation, risk and alert rules.

Pure Python/NumPy/pandas/statsmodels (no Django), so the same functions serve the
Celery tasks, the management commands, notebooks and the tests. Every result object
serialises to JSON for storage as a versioned snapshot.
"""
