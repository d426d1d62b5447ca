"""``python -m voice_features FILE [FILE ...] [--json]``: see :mod:`voice_features.cli`."""

from voice_features.cli import main

raise SystemExit(main())
