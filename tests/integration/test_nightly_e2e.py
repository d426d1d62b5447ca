"""End to end: the nightly screening shared by two real Celery workers (real Redis and PostgreSQL)."""

import re
import time

import pytest

from clinic.models import CareTeam
from screening.models import RiskScore
from tests.integration.processes import start_worker, stop, worker_env
from tests.support.cohort_db import cohort_to_db
from tests.support.simulation import simulate_cohort

pytestmark = pytest.mark.integration


def _ready(log_path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log_path.exists() and " ready." in log_path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"worker not ready after {timeout_s} s:\n{log_path.read_text()[-2000:]}")


def test_the_nightly_run_is_shared_by_two_workers_and_scores_every_patient(postgres, live_broker, redis_url,
                                                                            settings, tmp_path):
    from screening.tasks import run_screening

    team = CareTeam.objects.create(name="Night")
    ids = cohort_to_db(simulate_cohort(n_patients=6, n_weeks=6, recordings_per_week=3, seed=11), care_team=team)
    env = worker_env(redis_url, settings) | {"CADENCE_SCREENING_CHUNK_PATIENTS": "2"}
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [start_worker(env, log) for log in logs]
    try:
        for log in logs:
            _ready(log)
        run_screening.delay()  # one task, which sends a screen_patients task per chunk of 2 patients
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sum(len(re.findall(r"screen_patients\[[^\]]+\] succeeded", log.read_text())) for log in logs) >= 3:
                break
            time.sleep(0.5)
        texts = [log.read_text() for log in logs]
        scored = set(RiskScore.objects.filter(scope="recording", predicted_phq9__isnull=False)
                     .values_list("patient_id", flat=True))
        assert scored == set(ids.values()), f"scored {len(scored)} of {len(ids)} patients:\n{texts[0][-3000:]}"
        per_worker = [len(re.findall(r"screen_patients\[[^\]]+\] succeeded", text)) for text in texts]
        assert sum(per_worker) == 3  # three chunks of two patients, each screened once
        assert all(per_worker), f"one worker took every chunk: {per_worker}"  # the night is shared
    finally:
        for worker in workers:
            stop(worker)
