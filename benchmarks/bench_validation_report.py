"""Validation report build time (pure part, no database): every section at the production bootstrap.

Builds :func:`screening.validation.build_report` on a simulated clinic (the validation tests'
cohort: N patients with PHQ-9s and scored recordings), with recording conditions (codec, bit
rate, device, task) and one risk alert per patient, at ``--bootstrap`` patient-level resamples
(production default 2000), and prints the wall time of the whole report and of the recording
subgroups. The report is built by the Celery worker; the target keeps a weekly build of a
clinic-wide report plus one per care team well inside a minute.

Target: < 20 s for 200 patients at 2000 resamples.

    python benchmarks/bench_validation_report.py [--patients 200] [--bootstrap 2000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=2000)
    args = parser.parse_args()

    from screening.validation import build_report
    from screening.validation.subgroups import recording_subgroups
    from tests.screening.test_validation_simulation import simulate_cohort

    sim = simulate_cohort(n_patients=args.patients, seed=7)
    scores = sim["scores"].copy()
    rng = np.random.default_rng(0)
    n = len(scores)
    scores["task"] = np.where(np.arange(n) % 2 == 0, "free_speech", "read_passage")
    scores["codec"] = rng.choice(["opus", "aac", "pcm_s16le"], n)
    scores["bit_rate"] = scores["codec"].map({"opus": 24_000, "aac": 64_000, "pcm_s16le": 256_000})
    scores["device_model"] = [f"phone-{p % 12}" for p in scores["patient_id"]]
    patients = sim["patients"].assign(enrolled_on=pd.Timestamp("2024-01-01").date(),
                                      care_team=[f"team-{p % 3}" for p in sim["patients"]["patient_id"]])
    first = sim["phq9"].sort_values("answered_at").groupby("patient_id").head(1)
    alerts = pd.DataFrame({"patient_id": first["patient_id"], "kind": "risk_threshold",
                           "at": first["answered_at"] - pd.Timedelta(days=3)})
    when = (scores["recorded_at"].max() + pd.Timedelta(days=1)).to_pydatetime()

    start = time.perf_counter()
    recording_subgroups(sim["phq9"], scores, window_days=14, min_recordings=2, n_bootstrap=args.bootstrap)
    subgroups_s = time.perf_counter() - start
    start = time.perf_counter()
    report = build_report(phq9=sim["phq9"], scores=scores, patients=patients, alerts=alerts,
                          n_bootstrap=args.bootstrap, generated_at=when)
    total_s = time.perf_counter() - start
    print(f"{args.patients} patients, {report.content['summary']['n_pairs']} pairs, {n} recordings, "
          f"{args.bootstrap} resamples")
    print(f"recording subgroups (codec, device, task): {subgroups_s:.2f} s")
    print(f"whole report: {total_s:.2f} s (target < 20 s)")


if __name__ == "__main__":
    main()
