#!/usr/bin/env python3
"""Write docker/.env for docker/compose.yaml with fresh secrets and keys (Python standard library only).

    python3 docker/make_env.py cadence.example.org --email ops@example.org    # public domain, Let's Encrypt
    python3 docker/make_env.py cadence.lan --internal                          # LAN pilot, Caddy's own CA

It never overwrites an existing file: the audio master key in it is the only way to read the stored audio.
Copy the file (or at least CADENCE_AUDIO_KEYS and DJANGO_SECRET_KEY) to your key custody at once
(docs/operators.md, "Keys and backups").
"""

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path


def render(*, domain: str, tls: str, https_port: int, http_port: int, smtp_host: str = "") -> str:
    values = {
        "CADENCE_DOMAIN": domain,
        "CADENCE_TLS": tls,
        "CADENCE_HTTPS_PORT": str(https_port),
        "CADENCE_HTTP_PORT": str(http_port),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "CADENCE_AUDIO_KEYS": base64.b64encode(os.urandom(32)).decode(),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "S3_ACCESS_KEY": "cadence",
        "S3_SECRET_KEY": secrets.token_urlsafe(32),
        "CADENCE_METRICS_TOKEN": secrets.token_urlsafe(32),
        "EMAIL_HOST": smtp_host,
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
    }
    lines = ["# Written by docker/make_env.py; every variable is explained in docker/.env.example.",
             "# CADENCE_AUDIO_KEYS and DJANGO_SECRET_KEY must also be kept outside this server (docs/operators.md).",
             "# Fill in EMAIL_HOST_USER and EMAIL_HOST_PASSWORD: without SMTP the web server does not start."]
    return "\n".join(lines + [f"{name}={value}" for name, value in values.items()]) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("domain", help="The name phones and browsers use (cadence.example.org, or a LAN name)")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--email", help="Let's Encrypt account e-mail (public domain; ports 80 and 443 open)")
    how.add_argument("--internal", action="store_true", help="Caddy's local CA signs the certificate (LAN pilot)")
    parser.add_argument("--smtp-host", default="", help="SMTP server for password links (EMAIL_HOST)")
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / ".env")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"{args.out} exists; it holds the keys of the stored audio, so it is never overwritten.", file=sys.stderr)
        return 1
    text = render(domain=args.domain, tls="internal" if args.internal else args.email, https_port=args.https_port,
                  http_port=args.http_port, smtp_host=args.smtp_host)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    print(f"Wrote {args.out} (mode 0600). Now copy CADENCE_AUDIO_KEYS and DJANGO_SECRET_KEY to your key custody.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
