from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from clinic.api import schema  # noqa: F401  registers the OpenAPI auth extension
