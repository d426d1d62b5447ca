from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    """Stored features of recordings and the Celery stage that computes them.

    The label stays ``voice_features`` (where this app lived before the analysis code became
    Django-free), so existing databases keep their table and migration history.
    """

    name = "clinic.processing"
    label = "voice_features"
    verbose_name = "Recording processing"
