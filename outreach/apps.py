from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    verbose_name = "Outreach (alert notifications, reminders, adherence)"

    def ready(self) -> None:
        from outreach import checks, receivers  # noqa: F401  (registers the deploy check)

        receivers.connect()
