"""The risk model: deviation from the personal baseline, the population model, the patient's level, fitting.

:mod:`.deviation`, :mod:`.model`, :mod:`.calibration` and :mod:`.fitting` are pure Python/NumPy/pandas/
statsmodels (no Django), so the same functions serve the Celery tasks, the management commands, notebooks and
the tests; every result object serialises to JSON for storage as a versioned snapshot. :mod:`.selectors`
reads the active model; :mod:`.services` builds the tables the fitting reads and fits and stores the model.
"""
