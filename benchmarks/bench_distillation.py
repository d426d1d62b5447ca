"""Does knowledge distillation help the SER student? Teacher, distilled student and no-teacher controls over seeds.

    python benchmarks/bench_distillation.py [--seeds 0 1 2] [--epochs 15] [--teacher-epochs 15]

On the synthetic EMO-DB-layout corpus of the tests (classes differ only in prosody; the
UARs are NOT emotion-recognition results), with the speaker split of seed 0 fixed (held-out
speakers never heard in training), for each training seed:

* ``teacher``: the CRNN twice as wide, focal loss (the recipe's teacher);
* ``student (KD)``: the serving-size CRNN, ``α·T²·KL + (1 − α)·CE`` with the recipe's α and T;
* ``student (KD, T=1)``: the same with T = 1 (a diagnostic: the teacher's posteriors are
  already soft, see its entropy below; not a tuned setting);
* ``student (KD, focal)``: the recipe's T and α with the focal loss as the label term, so
  that it differs from ``no teacher, focal`` only by the teacher;
* ``no teacher, focal``: the same architecture trained with the recipe's focal loss (the
  baseline the earlier runs compared with);
* ``no teacher, CE``: the same architecture trained with the student's label term alone
  (α = 0): the control that differs from the distilled student only by the teacher.

Printed per seed and as mean ± SD (sample SD) over seeds: held-out UAR of each, and
diagnostics of the teacher: accuracy and mean top posterior on its own (clean) training
utterances, the same on the held-out ones, and the mean entropy (bits) of its softened
targets at T on the training windows (log2 k bits = uniform). Nothing is tuned here: the
held-out speakers are the test set.
"""

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.voice_features.emotion.synthetic_corpus import write_emodb_corpus  # noqa: E402
from voice_features.emotion.corpora import read_corpus  # noqa: E402
from voice_features.emotion.evaluate import evaluate_model, utterance_posteriors  # noqa: E402
from voice_features.emotion.features import log_mel, sliding_windows  # noqa: E402
from voice_features.emotion.train import TrainConfig, load_waveform, speaker_split, train_model  # noqa: E402

ROLES = ("teacher", "student (KD)", "student (KD, T=1)", "student (KD, focal)", "no teacher, focal", "no teacher, CE")


def _confidence(model, waves, targets) -> tuple[float, float]:
    posts = np.stack([utterance_posteriors(model, w) for w in waves])
    return float(np.mean(posts.argmax(1) == np.asarray(targets))), float(posts.max(1).mean())


def _soft_target_entropy(model, waves, temperature: float) -> float:
    windows = torch.from_numpy(np.concatenate([sliding_windows(log_mel(w))[0] for w in waves]))
    with torch.inference_mode():
        p = torch.softmax(model(windows) / temperature, dim=-1).numpy()
    return float(np.mean(-(p * np.log2(np.clip(p, 1e-12, None))).sum(1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--teacher-epochs", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        utterances = read_corpus(write_emodb_corpus(Path(tmp) / "corpus", seed=0), layout="emodb")
        waves = [load_waveform(u.path) for u in utterances]
    labels = sorted({u.label for u in utterances})
    train_idx, test_idx = speaker_split([u.speaker for u in utterances], [u.label for u in utterances],
                                        test_fraction=0.2, seed=0)
    targets = [labels.index(u.label) for u in utterances]
    train_w, train_y = [waves[i] for i in train_idx], [targets[i] for i in train_idx]
    test_w, test_y = [waves[i] for i in test_idx], [targets[i] for i in test_idx]
    held_out = sorted({utterances[i].speaker for i in test_idx})
    print(f"{len(train_w)} training / {len(test_w)} held-out utterances (speakers {', '.join(held_out)}), "
          f"{len(labels)} classes; one held-out utterance moves a class recall by "
          f"{1 / (len(test_w) / len(labels)):.3f} and the UAR by {1 / len(test_w):.3f}")
    uars = {role: [] for role in ROLES}
    diag = {k: [] for k in ("train_acc", "train_conf", "test_acc", "test_conf", "entropy", "entropy_t1")}
    for seed in args.seeds:
        started = time.perf_counter()
        config = TrainConfig(epochs=args.epochs, seed=seed)
        teacher, _ = train_model(train_w, train_y, labels=labels, progress=False, width=config.teacher_width,
                                 config=replace(config, epochs=args.teacher_epochs))
        models = {
            "teacher": teacher,
            "student (KD)": train_model(train_w, train_y, labels=labels, config=config, progress=False,
                                        teacher=teacher)[0],
            "student (KD, T=1)": train_model(train_w, train_y, labels=labels, teacher=teacher, progress=False,
                                             config=replace(config, distill_temperature=1.0))[0],
            "student (KD, focal)": train_model(train_w, train_y, labels=labels, teacher=teacher, progress=False,
                                               config=replace(config, distill_label_loss="focal"))[0],
            "no teacher, focal": train_model(train_w, train_y, labels=labels, config=config, progress=False)[0],
            "no teacher, CE": train_model(train_w, train_y, labels=labels, config=replace(config, distill_alpha=0.0),
                                          progress=False, teacher=teacher)[0],
        }
        for role, model in models.items():
            uars[role].append(evaluate_model(model, test_w, test_y, labels=labels)["uar"])
        for key, value in zip(("train_acc", "train_conf"), _confidence(teacher, train_w, train_y)):
            diag[key].append(value)
        for key, value in zip(("test_acc", "test_conf"), _confidence(teacher, test_w, test_y)):
            diag[key].append(value)
        diag["entropy"].append(_soft_target_entropy(teacher, train_w, config.distill_temperature))
        diag["entropy_t1"].append(_soft_target_entropy(teacher, train_w, 1.0))
        print(f"seed {seed} ({time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.2f}): "
              + ", ".join(f"{role} {uars[role][-1]:.3f}" for role in ROLES)
              + f"; teacher train acc {diag['train_acc'][-1]:.3f} (mean top p {diag['train_conf'][-1]:.3f}), "
              f"held-out acc {diag['test_acc'][-1]:.3f} (mean top p {diag['test_conf'][-1]:.3f}), "
              f"soft-target entropy at T={config.distill_temperature:g}: {diag['entropy'][-1]:.2f} of "
              f"{np.log2(len(labels)):.2f} bits (at T=1: {diag['entropy_t1'][-1]:.2f})", flush=True)

    def msd(values) -> str:
        values = np.asarray(values)
        return f"{values.mean():.3f} ± {values.std(ddof=1) if values.size > 1 else 0.0:.3f}"

    print(f"\nheld-out UAR over {len(args.seeds)} seeds (mean ± SD): "
          + ", ".join(f"{role} {msd(uars[role])}" for role in ROLES))
    u = {role: np.asarray(v) for role, v in uars.items()}
    print("paired by seed (mean ± SD of the differences): "
          f"student (KD) − no teacher, CE {msd(u['student (KD)'] - u['no teacher, CE'])}; "
          f"student (KD, focal) − no teacher, focal {msd(u['student (KD, focal)'] - u['no teacher, focal'])}; "
          f"student (KD) − no teacher, focal {msd(u['student (KD)'] - u['no teacher, focal'])}; "
          f"no teacher, focal − no teacher, CE {msd(u['no teacher, focal'] - u['no teacher, CE'])}; "
          f"student (KD, T=1) − student (KD) {msd(u['student (KD, T=1)'] - u['student (KD)'])}")
    print(f"teacher: training accuracy {msd(diag['train_acc'])} (mean top posterior {msd(diag['train_conf'])}), "
          f"held-out accuracy {msd(diag['test_acc'])} (mean top posterior {msd(diag['test_conf'])}), "
          f"soft-target entropy at T={TrainConfig().distill_temperature:g} {msd(diag['entropy'])} bits, "
          f"at T=1 {msd(diag['entropy_t1'])} bits")


if __name__ == "__main__":
    main()
