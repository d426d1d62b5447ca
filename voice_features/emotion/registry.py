"""A directory of versioned SER models with exactly one (or no) active model.

Layout::

    <registry>/active.json            {"version": "<version>"}; absent = emotion stage off
    <registry>/<version>/model.pt     state dict + architecture (weights-only torch file)
    <registry>/<version>/metadata.json labels, corpus, split, training config, evaluation,
                                       export checks, file SHA-256s, creation time
    <registry>/<version>/...          model.ts, model.onnx, model_int8.onnx, evaluation.json,
                                       confusion_matrix.png

Versions are never overwritten; activation swaps the one pointer file atomically, so
there is always exactly one active model or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import torch

from voice_features.emotion.features import HOP_S, N_MELS, SAMPLE_RATE_HZ, WINDOW_S
from voice_features.emotion.model import CRNNConfig, EmotionCRNN
from voice_features.errors import VoiceFeaturesError

__all__ = [
    "register_model",
    "activate",
    "deactivate",
    "active_version",
    "list_versions",
    "read_metadata",
    "load_model",
    "verified_file",
]

_ACTIVE = "active.json"
_VERSION = re.compile(r"^ser-\d{8}T\d{6}Z-[0-9a-f]{8}$")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def register_model(
    registry_dir: Path | str, *, model: EmotionCRNN, metadata: dict, files: Sequence[Path] = ()
) -> str:
    """Store ``model`` (and extra ``files``) as a new version; returns the version id.

    The new version is not active until :func:`activate` is called.
    """
    root = Path(registry_dir)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, staging / "model.pt")
    for file in files:
        shutil.copy2(file, staging / Path(file).name)
    created = datetime.now(UTC)
    version = f"ser-{created:%Y%m%dT%H%M%SZ}-{_sha256(staging / 'model.pt')[:8]}"
    document = {
        **metadata,
        "version": version,
        "created_at": created.isoformat(),
        "torch_version": torch.__version__,
        "features": {"sample_rate_hz": SAMPLE_RATE_HZ, "n_mels": N_MELS, "window_s": WINDOW_S, "hop_s": HOP_S},
        "files": {p.name: _sha256(p) for p in sorted(staging.iterdir())},
    }
    (staging / "metadata.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    if (root / version).exists():
        shutil.rmtree(staging)
        raise VoiceFeaturesError(f"Model version {version} already exists.")
    os.replace(staging, root / version)
    return version


def list_versions(registry_dir: Path | str) -> list[str]:
    """Registered versions, oldest first."""
    root = Path(registry_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _VERSION.match(p.name))


def read_metadata(registry_dir: Path | str, version: str) -> dict:
    """The metadata document of one version."""
    path = Path(registry_dir) / version / "metadata.json"
    if not _VERSION.match(version) or not path.is_file():
        raise VoiceFeaturesError(f"No emotion model version {version!r} in {registry_dir}.")
    return json.loads(path.read_text(encoding="utf-8"))


def activate(registry_dir: Path | str, version: str) -> None:
    """Make ``version`` the one active model (replacing any other)."""
    metadata = read_metadata(registry_dir, version)
    if "evaluation" not in metadata:
        raise VoiceFeaturesError(f"{version} has no evaluation report; it cannot be activated.")
    _write_json_atomic(Path(registry_dir) / _ACTIVE, {"version": version, "activated_at": datetime.now(UTC).isoformat()})


def deactivate(registry_dir: Path | str) -> None:
    """Turn the emotion stage off (no active model)."""
    (Path(registry_dir) / _ACTIVE).unlink(missing_ok=True)


def active_version(registry_dir: Path | str | None) -> str | None:
    """The active version, or None when there is no registry or no active model."""
    if registry_dir is None:
        return None
    pointer = Path(registry_dir) / _ACTIVE
    if not pointer.is_file():
        return None
    version = json.loads(pointer.read_text(encoding="utf-8")).get("version")
    return version if version in list_versions(registry_dir) else None


def verified_file(registry_dir: Path | str, version: str, name: str, *, metadata: dict | None = None) -> Path:
    """The path of one registered file of ``version``, after checking it exists and matches its SHA-256.

    Raises
    ------
    VoiceFeaturesError
        ``code="model_missing"`` when the file was not registered or is gone,
        ``code="model_mismatch"`` when its content differs from the registered digest.
    """
    metadata = metadata if metadata is not None else read_metadata(registry_dir, version)
    path = Path(registry_dir) / version / name
    expected = metadata.get("files", {}).get(name)
    if expected is None or not path.is_file():
        raise VoiceFeaturesError(f"{name} is missing from emotion model {version}.", code="model_missing")
    if _sha256(path) != expected:
        raise VoiceFeaturesError(f"{name} of emotion model {version} does not match its registered digest.",
                                 code="model_mismatch")
    return path


def load_model(registry_dir: Path | str, version: str) -> EmotionCRNN:
    """Load one version's FP32 model in eval mode, after checking its file digest."""
    path = verified_file(registry_dir, version, "model.pt")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = EmotionCRNN(CRNNConfig.from_dict(checkpoint["config"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()
