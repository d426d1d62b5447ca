import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from clinic.checks import startup_checks_raise  # noqa: E402  (needs the app registry)
from clinic.storage import audio_keys_verify  # noqa: E402

audio_keys_verify()  # a missing or wrong audio key stops the server here, not at the first upload
startup_checks_raise()  # so does a mail backend that would write password links into the log
