"""Hand-offs from the clinical domain to the layers above it, which subscribe in ``ready()``.

The domain never imports screening: it announces what happened, and screening reacts.
"""

from django.dispatch import Signal

#: A recording passed processing and has features (sent after the commit); kwargs: ``recording_id``.
recording_processed = Signal()

#: A PHQ-9 response was stored (sent after the commit); kwargs: ``response_id``.
phq9_recorded = Signal()
