"""Hand-offs from screening to the layers above it, which subscribe in ``ready()``."""

from django.dispatch import Signal

#: One or more alerts were opened (sent after the commit); kwargs: ``patient_ids``.
alert_opened = Signal()
