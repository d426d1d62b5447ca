"""One recording, end to end: decode, analyse, embed, and (when a model is active) emotion.

Shared by the Celery worker and ``manage.py extract_features``; no Django here.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from voice_features.audio import load_audio
from voice_features.registry import withheld_features

__all__ = ["analyse_file"]


def analyse_file(
    source: str | Path | bytes | BinaryIO,
    *,
    max_duration_s: float | None = None,
    with_embedding: bool = True,
    emotion_registry: str | Path | None = None,
    known_syllables: int | None = None,
    task: str | None = None,
) -> dict:
    """Features, quality, version, embedding and emotion of one audio file, JSON-ready.

    Returns
    -------
    dict
        ``{"features", "quality", "version", "decoded_duration_s", "embedding", "emotion"}``;
        ``embedding`` is None when no speech was found or ``with_embedding`` is False,
        ``emotion`` is None when no emotion model is active (the stage is off).
        With ``known_syllables`` (a read passage), the syllable count and rates come from the
        text and ``quality["syllable_count_source"]`` says ``"text"`` (else ``"acoustic"``).
        ``quality["source"]`` holds the file's container, codec, bit rate and sample rate.
        Features the codec setting was measured to distort (:mod:`voice_features.codec_trust`),
        and features the recording ``task`` has no meaning for (e.g. speech rate of a sustained
        vowel), are None, with the reason in ``quality["withheld_features"]``.

    Raises
    ------
    VoiceFeaturesError
        The file cannot be decoded (empty, corrupt, NaN samples, too long, ...).
    """
    # start-up (not a cycle): each stage's stack loads when it runs
    from voice_features import analyse

    audio = load_audio(source, max_duration_s=max_duration_s)
    result = analyse(audio.samples, sr=audio.sample_rate, clipping_fraction=audio.clipping_fraction)
    payload = result.to_json_dict() | {"decoded_duration_s": audio.duration_s, "embedding": None, "emotion": None}
    payload["quality"]["syllable_count_source"] = "acoustic"
    if known_syllables is not None and result.speech_intervals:
        from voice_features.reading import rates_from_known_syllables

        payload["features"].update(rates_from_known_syllables(syllables=known_syllables,
                                                              speech_intervals=result.speech_intervals))
        payload["quality"]["syllable_count_source"] = "text"
    withheld = withheld_features(payload["features"], task=task, codec=audio.info.codec,
                                 bit_rate=audio.info.bit_rate, sample_rate=audio.info.sample_rate)
    payload["features"].update(dict.fromkeys(withheld))
    payload["quality"]["withheld_features"] = withheld
    payload["quality"]["source"] = {"container": audio.info.container, "codec": audio.info.codec,
                                    "bit_rate": audio.info.bit_rate, "sample_rate": audio.info.sample_rate}
    if result.speech_intervals and with_embedding:
        from voice_features.embedding import embed_speech

        payload["embedding"] = embed_speech(audio.samples, sr=audio.sample_rate,
                                            speech_intervals=result.speech_intervals).to_json_dict()
    if result.speech_intervals and emotion_registry is not None:
        from voice_features.emotion.inference import analyse_emotion

        emotion = analyse_emotion(audio.samples, sr=audio.sample_rate, speech_intervals=result.speech_intervals,
                                  registry_dir=emotion_registry)
        payload["emotion"] = None if emotion is None else emotion.to_json_dict()
    return payload
