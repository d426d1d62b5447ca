"""A bounded schemathesis run over the served schema, as a patient's app and as a clinician.

Every operation gets ``EXAMPLES`` requests valid by the schema from each caller, and as a clinician
``NEGATIVE_EXAMPLES`` invalid ones;
no answer may be a server error or break the schema (status, media type, body, headers), and a request the
schema calls valid must be accepted (``positive_data_acceptance``: 2xx, or 401/403/404/409/429, never a
400/413/415/422). The upload's ``audio`` is drawn from real WAV and FLAC files through schemathesis's
media-type strategies, as the schema's multipart encoding names the audio types it takes.
"""

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)

EXAMPLES = int(__import__('os').environ.get('SCHEMATHESIS_EXAMPLES', 10))
NEGATIVE_EXAMPLES = 8  # invalid requests per operation (clinician run), on top of EXAMPLES valid ones
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _audio_files() -> None:
    """What a phone sends: speech-like WAV and FLAC files (distinct, so uploads are new recordings)."""
    import io

    import soundfile as sf
    from hypothesis import strategies as st

    from tests.conftest import tone_wav

    wavs = [tone_wav(seconds=3.5, seed=seed) for seed in range(6)]
    flacs = []
    for seed in range(6, 9):
        samples, rate = sf.read(io.BytesIO(tone_wav(seconds=3.5, seed=seed)))
        buf = io.BytesIO()
        sf.write(buf, samples, rate, format="FLAC")
        flacs.append(buf.getvalue())
    schemathesis.openapi.media_type("audio/wav", st.sampled_from(wavs))
    schemathesis.openapi.media_type("audio/flac", st.sampled_from(flacs))


def _seed(cast) -> None:
    """A little of everything, so that reads return real rows to check against the schema."""
    from django.utils import timezone

    from clinic.models import Phq9Response, Recording
    from clinic.processing.models import FeatureSet
    from screening.reports.services import validation_report_build

    recording = Recording.objects.create(patient=cast.patient_a, file="recordings/x.wav", sha256="1" * 64,
                                         size_bytes=10, container="wav", recorded_at=timezone.now(), status="done")
    FeatureSet.objects.create(recording=recording, version="v1", features={"f0_mean_hz": 120.0, "jitter": None},
                              quality={"accepted": True, "snr_db": 30.0}, embedding={"model": "resemblyzer-ge2e", "dim": 256, "vector": [0.0] * 256})
    Phq9Response(patient=cast.patient_a, answered_at=timezone.now(), source="self_report",
                 **{f"item{n}": 1 for n in range(1, 10)}).save()
    validation_report_build(trigger="test", care_team_ids=[cast.north.pk])


def _check_operation(operation, mode: GenerationMode, headers: dict, tally: Counter, failures: list,
                     examples: int | None = None) -> Counter:
    """Run the checks on ``examples`` generated requests; returns this operation's count of responses by status."""
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [positive_data_acceptance])
    if examples is None:
        examples = EXAMPLES if mode == GenerationMode.POSITIVE else NEGATIVE_EXAMPLES
    seen = Counter()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call(headers=headers)
        tally[response.status_code] += 1
        seen[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (AssertionError, BaseExceptionGroup) as exc:  # collect them all, then fail once
            problems = [str(e) for e in getattr(exc, "exceptions", [exc])]
            failures.append(f"{operation.label} [{mode.value}] -> {response.status_code} {response.text[:160]}: "
                            + " | ".join(p.replace("\n", " ")[:200] for p in problems))

    check()
    return seen


#: Requests an operation gets before the run decides that it is not this caller's (401/403/404 to all of them).
PROBE_EXAMPLES = 3


def _run(schema, headers: dict, tally: Counter, failures: list, modes, *, probe: bool = False) -> None:
    """Every operation in every mode. ``probe``: a caller with a narrow role (the patient's app) first sends
    PROBE_EXAMPLES requests; where all of them are refused or find nothing (401/403/404, each checked against the
    schema like the rest), the operation is not theirs and the remaining examples would only be refused again."""
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:
            if probe:
                seen = _check_operation(operation, mode, headers, tally, failures, examples=PROBE_EXAMPLES)
                if set(seen) <= {401, 403, 404}:
                    continue
            _check_operation(operation, mode, headers, tally, failures)


@pytest.fixture
def wsgi_app():
    """The real WSGI application, kept on the test's database connection (as Django's test client does)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_api_holds_its_schema_for_patients_and_clinicians(cast, wsgi_app, capsys, monkeypatch):
    from screening import tasks

    application = wsgi_app
    # POST of the report answers 202 once queued; building it is tested in test_reports.py.
    monkeypatch.setattr(tasks.build_validation_report, "delay", lambda **kwargs: None)

    _seed(cast)
    _audio_files()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    tally, failures, timings = Counter(), [], {}
    # The patient's app first: a clinician run may rotate or end that patient's token.
    runs = (("patient", cast.key_a, [GenerationMode.POSITIVE], True),
            ("clinician", cast.alice_token, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], False))
    for who, token, modes, probe in runs:
        started = time.perf_counter()
        _run(schema, {"Authorization": f"Bearer {token}"}, tally, failures, modes, probe=probe)
        timings[who] = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nschemathesis: {sum(tally.values())} requests, by status {dict(sorted(tally.items()))}, "
              f"{len(failures)} failures; seconds " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    assert not [code for code in tally if code >= 500]
    assert not failures, "\n".join(sorted(set(failures))[:30])
