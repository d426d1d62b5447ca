from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "API and dashboard"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from web.api import schema  # noqa: F401  registers the OpenAPI auth extension
        from web.identity import signals  # noqa: F401  sign-ins and refused sign-ins go to the audit log
        from web.locale import remember_own_language

        user_logged_in.connect(remember_own_language, dispatch_uid="cadence-own-language")
