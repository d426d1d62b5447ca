"""The package stays a light library: importing it pulls in neither Django nor Praat."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import voice_features

REPO = Path(voice_features.__file__).resolve().parents[1]


def test_it_imports_without_django_or_parselmouth():
    code = "import sys, voice_features; print('django' in sys.modules, 'parselmouth' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO).stdout
    assert out.split() == ["False", "False"]


def test_it_reads_the_feature_registry_without_numpy():
    code = "import sys, voice_features.registry; print('numpy' in sys.modules, 'parselmouth' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO).stdout
    assert out.split() == ["False", "False"]


def test_it_exports_the_public_api():
    assert set(voice_features.__all__) >= {"analyse", "FEATURE_NAMES", "FEATURE_SET_VERSION", "VoiceFeaturesError"}
    assert voice_features.FEATURE_SET_VERSION.count(".") == 2


def test_it_analyses_without_django_loaded():
    code = (
        "import sys, numpy as np; from voice_features import analyse; from voice_features.synth import synth_speech;"
        "r = analyse(synth_speech().samples, sr=16000); print(r.quality['accepted'], 'django' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO).stdout
    assert out.split() == ["True", "False"]
