import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The cast logs in with real passwords; PBKDF2's deliberate slowness would dominate these tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
