"""Model monitoring: is the model still seeing the data it was built for, and is it still right?

:mod:`screening.monitoring.stats` holds pure functions (population stability index, mixes,
calibration against PHQ-9, per-class recall); :mod:`screening.monitoring.service` runs them
per care team each day, stores a snapshot and raises operator alerts.
"""
