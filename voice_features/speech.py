"""The shared analysis of one recording that every feature function reads.

Extraction computes the expensive Praat objects once (one intensity contour, the
speaker-adapted pitch contour, the speech segments); feature functions
(:mod:`voice_features.extractors`) take a :class:`SpeechAnalysis` and read what they need.
Derived objects that only some features use are computed on first access and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import parselmouth

from voice_features import prosody, segmentation, spectral, voice_quality

__all__ = ["SpeechAnalysis"]


@dataclass(eq=False)
class SpeechAnalysis:
    """One recording with speech, analysed once.

    Attributes
    ----------
    sound : parselmouth.Sound
        The recording.
    pitch : parselmouth.Pitch
        Speaker-adapted pitch contour (second pass).
    intensity_db, intensity_times_s : np.ndarray, shape (n_frames,)
        Praat intensity contour, dB, and its frame times, s.
    pitch_times_s, pitch_hz : np.ndarray, shape (n_pitch,)
        Pitch frame times, s, and F0, Hz (0 = unvoiced).
    segments : np.ndarray, shape (n_segments, 2)
        Speech runs, s.
    threshold_db : float
        The speech/silence intensity threshold, dB.
    pitch_floor_hz : float
        Floor of the speaker-adapted pitch range, Hz.
    duration_s : float
        Whole recording, s.
    global_peak : float
        Largest absolute sample value.
    frame_step_s : float
        Pitch frame step, s.
    """

    sound: parselmouth.Sound
    pitch: parselmouth.Pitch
    intensity_db: np.ndarray
    intensity_times_s: np.ndarray
    pitch_times_s: np.ndarray
    pitch_hz: np.ndarray
    segments: np.ndarray
    threshold_db: float
    pitch_floor_hz: float
    duration_s: float
    global_peak: float
    frame_step_s: float

    @cached_property
    def speech_s(self) -> float:
        """Time in speech, s."""
        return float(np.sum(self.segments[:, 1] - self.segments[:, 0]))

    @cached_property
    def pitch_in_speech(self) -> np.ndarray:
        """Boolean mask of pitch frames inside speech."""
        return segmentation.in_segments(self.pitch_times_s, self.segments)

    @cached_property
    def intensity_in_speech(self) -> np.ndarray:
        """Boolean mask of intensity frames inside speech."""
        return segmentation.in_segments(self.intensity_times_s, self.segments)

    @cached_property
    def speech_f0_hz(self) -> np.ndarray:
        """F0 of the pitch frames inside speech, Hz (0 = unvoiced)."""
        return self.pitch_hz[self.pitch_in_speech]

    @cached_property
    def speech_span_s(self) -> tuple[float, float]:
        """First speech onset and last offset, s, placed on 10-ms blocks inside the segment edges
        (:func:`voice_features.segmentation.speech_span_s`): the span of ``speech_rate_syl_s``."""
        return segmentation.speech_span_s(self.sound.values[0], sr=round(self.sound.sampling_frequency),
                                          segments=self.segments,
                                          extension_db=segmentation.extension_threshold_db(self.intensity_db))

    @cached_property
    def pauses(self) -> np.ndarray:
        """Pause intervals between speech runs, s, shape (n_pauses, 2)."""
        return segmentation.pauses_between(self.segments)

    @cached_property
    def syllable_nuclei_s(self) -> np.ndarray:
        """Syllable nucleus times, s: peaks of the vowel-band energy (:func:`voice_features.prosody.nucleus_contour_db`)
        above that contour's own silence threshold, inside speech and voiced."""
        contour_db, times_s = prosody.nucleus_contour_db(self.sound.values[0], sr=round(self.sound.sampling_frequency))
        return prosody.syllable_nuclei(intensity_db=contour_db, frame_times_s=times_s,
                                       threshold_db=segmentation.speech_threshold_db(contour_db), segments=self.segments,
                                       pitch_times_s=self.pitch_times_s, pitch_hz=self.pitch_hz)

    @cached_property
    def voiced_stretches(self) -> np.ndarray:
        """Runs of voiced pitch frames inside speech, ``[start_s, end_s]`` rows."""
        return voice_quality.voiced_stretches(pitch_times_s=self.pitch_times_s[self.pitch_in_speech],
                                              pitch_hz=self.speech_f0_hz, step_s=self.frame_step_s)

    @cached_property
    def voiced_sample(self) -> parselmouth.Sound | None:
        """A sample of the voiced speech joined into one Sound (see :func:`voice_features.spectral.voiced_sample`)."""
        return spectral.voiced_sample(self.sound, stretches=self.voiced_stretches)

    @cached_property
    def speech_sample(self) -> np.ndarray:
        """Samples of the speech runs joined (pauses removed), at most about a minute of them."""
        return spectral.joined(self.sound, intervals=self.segments, max_s=spectral.SPEECH_SAMPLE_MAX_S)
