"""Screening of patients, after a recording and every night: load, plan, score, write.

:mod:`.load` reads a chunk of patients in a fixed number of queries, :mod:`.scoring` plans and scores
each stale patient (pure computation on the loaded rows), :mod:`.write` writes every result of the chunk,
:mod:`.services` holds the entry points (a recording, a chunk, the night) and :mod:`.bulk` the bulk writer.
"""
