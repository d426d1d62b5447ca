#!/usr/bin/env bash
# Update the translation catalogues after changing marked strings, then compile them (docs/translation.md).
#   bash scripts/translations.sh            # every language of settings.LANGUAGES but English
# Needs GNU gettext (Debian package gettext; bash scripts/bootstrap.sh --dev installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v msgfmt >/dev/null || { echo "GNU gettext is missing: apt-get install gettext" >&2; exit 1; }
PY="${PYTHON:-.venv/bin/python}"
languages=$("$PY" -c 'import os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); import django; django.setup(); from django.conf import settings; print(" ".join(c for c, _ in settings.LANGUAGES if c != "en"))')
for lang in $languages; do
  "$PY" manage.py makemessages -l "$lang" --no-obsolete --add-location file \
    -i ".venv/*" -i "var/*" -i "tests/*" -i "benchmarks/*" -i "docs/*" -i "docker/*" -i "artifacts/*"
done
"$PY" manage.py compilemessages -i ".venv" -i "var"
echo "Catalogues in locale/: translate the new or fuzzy entries, run this again, commit the .po and .mo files."
