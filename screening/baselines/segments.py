"""Recording segments: a change of phone or codec family starts a new baseline segment.

A different phone (microphone, gain, noise suppression) or a different codec family
(AMR rebuilds the voice from a model; Opus and AAC keep more of it) shifts voice
features by amounts as large as the changes a baseline is meant to detect. A
recording is therefore compared only with earlier recordings of the same segment: at a
change, the patient's baseline is built afresh from the new phone's recordings (scores
say "baseline pending", reason "new phone", meanwhile), so the change never reads as
deterioration. See docs/screening.md, "Baselines per task and per phone".

Pure Python: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from voice_features.codec_trust import codec_family

__all__ = ["DeviceInfo", "codec_family", "device_segments", "NEW_PHONE", "FIRST_RECORDINGS"]

#: Reason of a pending score whose segment started with a change of phone or codec.
NEW_PHONE = "new phone"
#: Reason of a pending score in the patient's first segment (the enrolment baseline).
FIRST_RECORDINGS = "first recordings"

@dataclass(frozen=True)
class DeviceInfo:
    """What a recording says about the phone that made it."""

    recording_id: str
    recorded_at: datetime
    device_model: str = ""
    codec: str = ""


def device_segments(recordings: Iterable[DeviceInfo]) -> dict[str, tuple[int, str]]:
    """``{recording id: (segment index, segment key)}`` over a patient's recordings in time order.

    A new segment starts where the device model or the codec family differs from the
    previous recording's. An unknown (blank) model or codec is not a change: it carries
    the last known one. The key names the segment by its first recording's time and
    phone, so it does not depend on how many segments came before.
    """
    result: dict[str, tuple[int, str]] = {}
    index, key = 0, ""
    device = family = ""
    for rec in sorted(recordings, key=lambda r: (r.recorded_at, r.recording_id)):
        new_device, new_family = rec.device_model.strip(), codec_family(rec.codec)
        changed = bool(result) and ((new_device and device and new_device != device)
                                    or (new_family and family and new_family != family))
        device, family = new_device or device, new_family or family
        if not result or changed:
            index += 1 if result else 0
            key = f"{rec.recorded_at.isoformat()}|{device}|{family}"
        result[rec.recording_id] = (index, key)
    return result
