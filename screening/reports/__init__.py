"""The PHQ-9 validation report: its sections (:mod:`.sections`), its HTML page (:mod:`.html`) and its
building on the clinic's data (:mod:`.services`); the statistics are in :mod:`screening.validation`."""
