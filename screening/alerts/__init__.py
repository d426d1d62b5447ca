"""Patient alerts: the kinds (:mod:`.kinds`, plain Python), the rules and the lifecycle (:mod:`.services`).

Nothing is imported here, so the plain-Python modules stay importable without Django.
"""
