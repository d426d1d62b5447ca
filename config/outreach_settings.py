"""Outreach settings (outreach/, docs/notifications.md), read from the environment like the rest of
``config/settings.py``, which merges them in."""

from config.env import env_float, env_int, env_list, env_str


def outreach_settings() -> dict[str, object]:
    """Alert notification, escalation, Web Push and reminder settings."""
    # Outreach (docs/notifications.md): alerts reach the care team by e-mail (EMAIL_* above) and an optional signed
    # webhook per team; an urgent (self-harm) alert left open this many minutes goes to the team leads, as long
    # again to the on-call address. Patients are reminded by Web Push (VAPID key), else e-mail or the SMS webhook.
    CADENCE_ESCALATE_AFTER_MIN = env_int("CADENCE_ESCALATE_AFTER_MIN", 30)
    CADENCE_ONCALL_EMAIL = env_str("CADENCE_ONCALL_EMAIL", "")
    CADENCE_ALERT_NOTIFY_WINDOW_H = env_int("CADENCE_ALERT_NOTIFY_WINDOW_H", 24)  # older unseen alerts are not mailed
    CADENCE_OUTREACH_MAX_ATTEMPTS = env_int("CADENCE_OUTREACH_MAX_ATTEMPTS", 6)
    CADENCE_OUTREACH_BACKOFF_S = env_int("CADENCE_OUTREACH_BACKOFF_S", 30)
    CADENCE_WEBHOOK_TIMEOUT_S = env_float("CADENCE_WEBHOOK_TIMEOUT_S", 10.0)
    CADENCE_VAPID_PRIVATE_KEY = env_str("CADENCE_VAPID_PRIVATE_KEY", "")  # base64url raw P-256 key or PEM
    CADENCE_VAPID_SUBJECT = env_str("CADENCE_VAPID_SUBJECT", "mailto:cadence@localhost")
    CADENCE_REMINDER_DAYS = [int(d) for d in env_list("CADENCE_REMINDER_DAYS", ["1", "3", "5"])]  # ISO weekdays
    CADENCE_REMINDER_TIME = env_str("CADENCE_REMINDER_TIME", "18:00")
    CADENCE_REMINDER_EXPIRY_HOURS = env_int("CADENCE_REMINDER_EXPIRY_HOURS", 6)
    CADENCE_REMINDER_WEBHOOK_URL = env_str("CADENCE_REMINDER_WEBHOOK_URL", "")  # an SMS gateway, optional
    CADENCE_REMINDER_WEBHOOK_SECRET = env_str("CADENCE_REMINDER_WEBHOOK_SECRET", "")
    CADENCE_REENGAGE_AFTER_DAYS = env_int("CADENCE_REENGAGE_AFTER_DAYS", 7)  # 0: no re-engagement message
    return {name: value for name, value in locals().items() if name.isupper()}
