"""An emotion-model registry whose active version holds only its metadata (version, labels, evaluation).

What the label entry and the patient page read of an active model is its version and classes; no
network is loaded from it, so none is trained for these tests.
"""

import json
from pathlib import Path

VERSION = "ser-20260101T000000Z-0123abcd"
LABELS = ["anger", "happiness", "neutral", "sadness"]


def active_registry(root: Path, *, labels: list[str] = LABELS, version: str = VERSION) -> Path:
    (root / version).mkdir(parents=True)
    (root / version / "metadata.json").write_text(json.dumps({"version": version, "labels": labels,
                                                              "evaluation": {"uar": 0.5}}))
    (root / "active.json").write_text(json.dumps({"version": version}))
    return root
