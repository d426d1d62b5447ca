"""Spanish speech-rate ground truth: synthesised (eSpeak NG ``es``, ``es-419``) and recorded (Asterisk prompts).

The same method as the English families (:mod:`tests.support.voices`), with Spanish syllables:

- **Syllables** come from each transcript word by word through ``pylabeador`` (an independent
  rule-based Spanish syllabifier from PyPI), one syllable per orthographic syllable, as a reader
  would count them; synalepha across word boundaries ("que_el") is not merged, as the English
  truth does not merge either.
- **Speech span** is :func:`tests.support.voices.reference_span_s` (an energy trim independent of the
  detector under test).

Recorded Spanish speech found in Debian: ``asterisk-core-sounds-es-wav`` (prompts read by one
professional voice (Allison Smith, the es_MX prompt set), 8 kHz, CC-BY-SA-3.0, transcripts in
``asterisk-core-sounds-es``'s ``core-sounds-es.txt``) and ``tuxpaint-stamps-default`` (Tux Paint's stamp
descriptions read aloud in Spanish, ``*_desc_es.ogg``, 44.1 kHz, GPL-2; the text is the ``es.utf8=`` line of the
stamp's ``.txt``; the changelog credits the Spanish descriptive sounds to Estefanía Ortiz). No Spanish speech with
transcripts was found on PyPI; MBROLA and Festival Spanish voices are not in Debian's main archive (see
docs/voices.md).

**Transcripts that do not match their audio.** Both recorded sources ship text that was edited after the audio was
recorded (a Tux Paint chess piece's description is 30 syllables, its audio 0.6 s). One rule, the same for every
family and blind to the detector: a clip whose transcript implies a speech rate (its syllables over the reference
span) more than :data:`IMPLIED_RATE_LIMIT` times above or below its family's median is left out
(:func:`plausible_transcripts`), and a recording that is byte-for-byte another clip's is measured once.
Synthesised clips are cached in ``var/speech/synth/``; nothing here is committed audio.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

from tests.support.voices import SPAN_DROP_DB, SPAN_FLOOR_DB, SR, Clip, _cached, load, reference_span_s
from voice_features import analyse
from voice_features.audio import load_audio

__all__ = ["SENTENCES_ES", "ES_FAMILY_SOURCES", "es_families", "spanish_syllables", "word_syllables",
           "ASTERISK_ES_DIR", "TUXPAINT_STAMPS_DIR", "IMPLIED_RATE_LIMIT", "plausible_transcripts", "rate_ratio",
           "passage", "pause_errors", "pitch_shift_errors"]

# Everyday sentences written for Cadence (GPL-3.0-or-later, like the code), varied in length and stress.
SENTENCES_ES = (
    "El perro de mi vecina ladra todas las mañanas.",
    "Hoy hemos comprado pan, queso y unas naranjas.",
    "La casa blanca está al final de la calle.",
    "Mi hermano trabaja en un hospital de la ciudad.",
    "Los niños juegan en el parque después del colegio.",
    "Anoche llovió mucho y las calles estaban mojadas.",
    "Me gusta caminar por la playa cuando hace sol.",
    "El tren de las ocho siempre llega con retraso.",
    "Mañana tenemos una cita con el médico.",
    "Compré un libro nuevo para leer en vacaciones.",
    "La abuela prepara una sopa de verduras muy rica.",
    "Nos sentamos a tomar un café en la terraza.",
    "El gato duerme tranquilo encima del sofá.",
    "Necesito descansar un poco antes de la cena.",
    "Las flores del jardín tienen colores preciosos.",
    "Mi amigo vive cerca de la estación de autobuses.",
    "Esta semana he dormido mejor que la anterior.",
    "El domingo fuimos al mercado con los primos.",
    "Por la tarde escucho la radio mientras cocino.",
    "Cuando era pequeño pasaba los veranos en el pueblo.",
)

_ESPEAK_ES = {  # voice, words per minute, pitch (0-99): varied speed and pitch
    "espeak-es": (("es", 150, 50), ("es", 175, 35), ("es+f3", 140, 60), ("es", 130, 45), ("es+m3", 165, 40)),
    "espeak-es-419": (("es-419", 150, 50), ("es-419", 170, 30), ("es-419+f2", 140, 65), ("es-419", 125, 45),
                      ("es-419+m2", 160, 40)),
}
ASTERISK_ES_DIR = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
_ASTERISK_ES_TEXT = Path("/usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt.gz")

TUXPAINT_STAMPS_DIR = Path("/usr/share/tuxpaint/stamps")
IMPLIED_RATE_LIMIT = 1.5
"""A clip's transcript-implied speech rate may be at most this factor above or below its family's median."""

ES_FAMILY_SOURCES = {
    "espeak-es": "eSpeak NG es (Spain), es+f3, es+m3 at 130-175 wpm, pitch 35-60 (sentences written for Cadence)",
    "espeak-es-419": "eSpeak NG es-419 (Latin America), es-419+f2, es-419+m2 at 125-170 wpm, pitch 30-65",
    "asterisk-es-mx": "asterisk-core-sounds-es-wav: the Mexican-Spanish prompts (es_MX_f_Allison), one professional voice (8 kHz)",
    "tuxpaint-es": "tuxpaint-stamps-default: Tux Paint's stamp descriptions read in Spanish (*_desc_es.ogg; one volunteer "
                   "reader by the credits and F0, 44.1 kHz)",
}


def word_syllables(word: str) -> int:
    """Orthographic syllables of one Spanish word (pylabeador); 0 for a token with no letters."""
    from pylabeador import syllabify

    letters = re.sub(r"[^a-záéíóúüñ]", "", word.lower())
    return len(syllabify(letters)) if letters else 0


_WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+")


def spanish_syllables(text: str) -> int:
    """Orthographic syllables of a Spanish text, word by word."""
    return sum(word_syllables(w) for w in _WORD.findall(text))


def _espeak_clips(per_family: int | None) -> list[Clip]:
    espeak = shutil.which("espeak-ng") or "espeak-ng"
    clips = []
    for family, settings in _ESPEAK_ES.items():
        for i, text in enumerate(SENTENCES_ES[:per_family]):
            voice, wpm, pitch = settings[i % len(settings)]

            def make(out, v=voice, w=wpm, p=pitch, t=text):
                subprocess.run([espeak, "-v", v, "-s", str(w), "-p", str(p), "-w", str(out), t], check=True,
                               capture_output=True)
            clips.append(Clip(family, f"{family}-{i:02d}", _cached(f"{family}|{voice}|{wpm}|{pitch}|{text}", make),
                              text))
    return clips


def _asterisk_transcripts() -> dict[str, str]:
    """Prompts that are one spoken sentence in letters only (no digits, no [tone] notes), >= 6 words."""
    if not _ASTERISK_ES_TEXT.exists():
        return {}
    found = {}
    for line in gzip.open(_ASTERISK_ES_TEXT, "rt", encoding="utf-8", errors="replace"):
        m = re.match(r"^([\w-]+):\s*(.+)$", line.strip())
        if not m or re.search(r"[\d\[\]<>]", m.group(2)) or len(m.group(2).split()) < 6:
            continue
        if any(not re.search(r"[aeiouáéíóúüy]", w.lower()) for w in _WORD.findall(m.group(2))):
            continue  # an acronym read letter by letter ("PBX"): no syllable count from spelling
        found[m.group(1)] = unicodedata.normalize("NFC", m.group(2))
    return found


def _asterisk_clips(limit: int | None) -> list[Clip]:
    clips = [Clip("asterisk-es-mx", name, ASTERISK_ES_DIR / f"{name}.wav", text)
             for name, text in sorted(_asterisk_transcripts().items())]
    clips = [c for c in clips if c.path.exists()]
    return clips[:limit] if limit else clips


def _tuxpaint_clips() -> list[Clip]:
    """Stamp descriptions read in Spanish whose text is one utterance in letters only, >= 6 words, that the
    syllabifier can count (no digits, symbols, brackets or quoted names, which are read otherwise than spelt)."""
    clips = []
    for audio in sorted(TUXPAINT_STAMPS_DIR.glob("**/*_desc_es.ogg")):
        description = audio.with_name(audio.name[: -len("_desc_es.ogg")] + ".txt")
        if not description.exists():
            continue
        lines = [line.split("=", 1)[1].strip() for line in description.read_text(encoding="utf-8", errors="replace")
                 .splitlines() if line.startswith("es.utf8=")]
        if not lines:
            continue
        text = unicodedata.normalize("NFC", lines[0])
        if re.search(r"[\d\[\]()<>«»\"$€¥]", text) or len(text.split()) < 6:
            continue
        try:
            spanish_syllables(text)
        except Exception:  # noqa: BLE001 - pylabeador refuses a word with no vowel ("B", "ñ"): read as a letter name
            continue
        clips.append(Clip("tuxpaint-es", str(audio.relative_to(TUXPAINT_STAMPS_DIR))[: -len("_desc_es.ogg")], audio,
                          text))
    return clips


@lru_cache(maxsize=4096)
def _implied_span_s(path: Path) -> tuple[float, str]:
    """(reference span in s, digest of the file's bytes) of one recording."""
    return reference_span_s(load_audio(path, target_sr=SR).samples), hashlib.sha1(path.read_bytes()).hexdigest()


def plausible_transcripts(clips: list[Clip]) -> list[Clip]:
    """``clips`` less the recordings heard before (the same bytes) and those whose transcript-implied speech rate is
    more than :data:`IMPLIED_RATE_LIMIT` times off its family's median (a transcript that is not what was said)."""
    seen, unique = set(), []
    for clip in clips:
        digest = _implied_span_s(clip.path)[1]
        if digest not in seen:
            seen.add(digest)
            unique.append(clip)
    implied = {c: c.syllables / max(_implied_span_s(c.path)[0], 1e-3) for c in unique}
    kept = []
    for family in dict.fromkeys(c.family for c in unique):
        median = float(np.median([implied[c] for c in unique if c.family == family]))
        kept += [c for c in unique if c.family == family
                 and 1 / IMPLIED_RATE_LIMIT <= implied[c] / median <= IMPLIED_RATE_LIMIT]
    return kept


def es_families(*, per_family: int | None = None, all_transcripts: bool = False) -> list[Clip]:
    """Every Spanish clip whose source is installed, with its syllable count (pylabeador); the first ``per_family``
    of each family. Unless ``all_transcripts``, only :func:`plausible_transcripts` (the rule applies to the whole
    family before the first clips are taken)."""
    clips = _espeak_clips(None) + _asterisk_clips(None) + _tuxpaint_clips()
    clips = [Clip(c.family, c.name, c.path, c.text, spanish_syllables(c.text)) for c in clips if c.path.exists()]
    if not all_transcripts:
        clips = plausible_transcripts(clips)
    if per_family is None:
        return clips
    first: dict[str, list[Clip]] = {}
    for clip in clips:
        first.setdefault(clip.family, [])
        if len(first[clip.family]) < per_family:
            first[clip.family].append(clip)
    return [c for family in first.values() for c in family]



# ------------------------------------------------------------------------------------ measurements (bench and test)
PASSAGE_GAPS_S = (0.6, 0.9)
PITCH_SHIFT_CENTS = 300


def rate_ratio(clip: Clip, x: np.ndarray | None = None) -> float:
    """Measured / true speech rate of one clip (truth: its syllables over the reference span)."""
    x = load(clip) if x is None else x
    estimate = analyse(x, sr=SR).features["speech_rate_syl_s"]
    return float(estimate / (clip.syllables / reference_span_s(x))) if np.isfinite(estimate) else 0.0


def _speech_only(x: np.ndarray) -> np.ndarray:
    """The clip cut to its reference span (the synthesisers' own leading and trailing silence removed), so that the
    gaps a passage puts between clips are the pauses it holds."""
    hop = int(0.02 * SR)
    n = x.size // hop
    level = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-12)
    threshold = max(level.max() - SPAN_DROP_DB, np.percentile(level, 10) + SPAN_FLOOR_DB)
    loud = np.flatnonzero(level > threshold)
    return x[loud[0] * hop:(loud[-1] + 1) * hop]


def passage(clips: list[Clip], gaps_s: tuple[float, ...] = PASSAGE_GAPS_S) -> np.ndarray:
    """Clips cut to their speech and joined by silent gaps of known length over a -60 dBFS noise floor (fixed seed),
    0.5 s at each end."""
    parts = [np.zeros(int(0.5 * SR))]
    for i, clip in enumerate(clips):
        parts.append(_speech_only(load(clip)))
        parts.append(np.zeros(int((gaps_s[i] if i < len(gaps_s) else 0.5) * SR)))
    x = np.concatenate(parts).astype(np.float32)
    return x + np.random.default_rng(5).standard_normal(x.size).astype(np.float32) * 1e-3


def pause_errors(clips: list[Clip]) -> tuple[float, float]:
    """(pause count - gaps, mean pause - mean gap in s) on ``clips`` joined by :data:`PASSAGE_GAPS_S`."""
    gaps = PASSAGE_GAPS_S[: len(clips) - 1]
    features = analyse(passage(clips, gaps), sr=SR).features
    return features["pause_count"] - len(gaps), features["pause_mean_s"] - float(np.mean(gaps))


def pitch_shift_errors(clip: Clip, cents: int = PITCH_SHIFT_CENTS) -> tuple[float, float]:
    """(change of F0 median in st - cents/100, change of F0 range in st) when sox shifts the pitch by ``cents``."""
    sox = shutil.which("sox") or "sox"
    with tempfile.TemporaryDirectory() as folder:
        shifted = Path(folder) / "shifted.wav"
        subprocess.run([sox, str(clip.path), "-r", str(SR), str(shifted), "pitch", str(cents)], check=True,
                       capture_output=True)
        before = analyse(load(clip), sr=SR).features
        after = analyse(load_audio(shifted, target_sr=SR).samples, sr=SR).features
    return (after["f0_median_st"] - before["f0_median_st"] - cents / 100,
            after["f0_range_st"] - before["f0_range_st"])
