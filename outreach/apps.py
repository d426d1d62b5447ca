from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    verbose_name = "Outreach (alert notifications, reminders, adherence)"

    def ready(self) -> None:
        # Here, not at the top: the app registry must be ready before the models load. receivers imports
        # outreach.tasks, so every process registers the tasks that messages.enqueue looks up by name.
        from outreach import checks, receivers  # noqa: F401  (registers the deploy check)

        receivers.connect()
