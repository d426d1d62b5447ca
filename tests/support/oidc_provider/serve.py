"""python -m tests.support.oidc_provider.serve PORT CONFIG.json — migrate, create the users and the client, serve.

CONFIG: {"client_id", "client_secret", "redirect_uri", "users": {username: {"password", "email", "groups": [...]}}}
"""

import json
import os
import sys


def main() -> None:
    port, config = sys.argv[1], json.loads(open(sys.argv[2]).read())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.oidc_provider.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", run_syncdb=True, verbosity=0)
    for username, spec in config["users"].items():
        user = User.objects.create_user(username, email=spec.get("email", ""), password=spec["password"])
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in spec.get("groups", [])])
    Application.objects.create(
        name="Cadence", client_id=config["client_id"], client_secret=config["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=config["redirect_uri"], algorithm=Application.RS256_ALGORITHM, skip_authorization=True)
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True, skip_checks=True)


if __name__ == "__main__":
    main()
