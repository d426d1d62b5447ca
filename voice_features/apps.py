from django.apps import AppConfig


class VoiceFeaturesConfig(AppConfig):
    name = "voice_features"
    verbose_name = "Voice features"
