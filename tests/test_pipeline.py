"""End to end: ``dvc repro`` on a tiny cohort in a temporary copy of the project, the experiment
loop users run (``dvc exp run -S beta=2.0``, ``dvc metrics diff``, ``dvc plots show``), and the
path of a user who brings a folder of images and a labels CSV (``data.source: images``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kecg.bench.pipeline import copy_project, tool_env

# Tiny but complete: every stage runs, every model trains for a few epochs.
TINY = {
    "synth.n_patients": 12,
    "jobs": 2,
    "channels": 4,
    "depth": 1,
    "models.vae_downsample": 1,
    "latent_dim": 4,
    "num_epochs_vae": 2,
    "num_epochs_regressor": 5,
    "hidden_dim": 8,
    "baselines.seed.channels": 2,
    "baselines.seed.depth": 1,
    "baselines.seed.latent_dim": 4,
    "baselines.seed.num_epochs_vae": 1,
    "baselines.seed.num_epochs_regressor": 3,
    "baselines.seed.hidden_dim": 8,
    "baselines.dscrnn.channels": 4,
    "baselines.dscrnn.n_blocks": 2,
    "baselines.dscrnn.epochs": 2,
}


def _run(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=tool_env(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _project(tmp: Path, overrides: dict[str, object]) -> Path:
    """A git + DVC copy of the project's source files with TINY and ``overrides`` in params."""
    return copy_project(tmp / "project", {**TINY, **overrides})


@pytest.fixture(scope="module")
def synthetic_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = _project(tmp_path_factory.mktemp("synthetic"), {})
    _run(project, "dvc", "repro")
    return project


def test_repro_runs_every_stage_against_ground_truth(synthetic_project: Path) -> None:
    p = synthetic_project
    labels = pd.read_csv(p / "data/raw/labels.csv")
    qc = pd.read_csv(p / "data/interim/digitize_qc.csv")
    assert len(qc) == len(labels) >= 12
    assert (qc["status"] == "ok").mean() >= 0.9, qc[["ecg_id", "reason"]]
    beats = json.loads((p / "metrics/beats.json").read_text())
    assert beats["median_beats"] >= 0.9 * len(labels)
    metrics = json.loads((p / "metrics/metrics.json").read_text())
    # Two epochs on a dozen patients learn little, but predictions must be sane potassium values.
    assert 0.0 < metrics["mae"] < 3.0
    pred = pd.read_csv(p / "data/processed/predictions.csv")
    assert pred["k_pred"].between(1.5, 12.0).all()
    baselines = json.loads((p / "metrics/baselines.json").read_text())
    assert {"seed_two_stage", "dscrnn", "ridge_clinical"} <= set(json.dumps(baselines).split('"'))
    oracle = json.loads((p / "metrics/oracle.json").read_text())
    assert oracle["mae"] > 0.0


def test_second_repro_does_nothing(synthetic_project: Path) -> None:
    out = _run(synthetic_project, "dvc", "repro")
    assert "Running stage" not in out, out


def test_bytecode_beside_the_code_is_not_a_dependency(synthetic_project: Path) -> None:
    """Python writes ``__pycache__`` into ``kecg/`` of a user's clone as stages import it; were
    it hashed with the code, the next ``dvc status`` would call every stage changed."""
    cache = synthetic_project / "kecg" / "io" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "records.cpython-311.pyc").write_bytes(b"bytecode")
    try:
        out = _run(synthetic_project, "dvc", "status")
    finally:
        shutil.rmtree(cache)
    assert "changed" not in out, out


def test_experiment_reruns_only_the_model_stages(synthetic_project: Path) -> None:
    out = _run(synthetic_project, "dvc", "exp", "run", "-S", "beta=2.0")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert "train_vae" in ran
    assert not ran & {"synthesize", "ingest", "digitize", "extract_leads", "detect", "median_beat"}
    diff = _run(synthetic_project, "dvc", "metrics", "diff")
    assert "metrics/metrics.json" in diff and "mae" in diff, diff
    _run(synthetic_project, "dvc", "plots", "show", "-o", "dvc_plots")
    html = (synthetic_project / "dvc_plots" / "index.html").read_text()
    assert "Confusion" in html and "ROC" in html


def test_users_folder_of_images_with_a_labels_csv(tmp_path: Path) -> None:
    """The path a real user takes: images + a lab spreadsheet, no synthetic ground truth."""
    base = tmp_path / "base"
    project = _project(
        base,
        {
            "data.source": "images",
            "data.images_dir": "scans",
            "data.labels_csv": "lab_potassium.csv",
            "synth.n_patients": 10,
            "split.fractions": [0.5, 0.25, 0.25],
        },
    )
    _run(project, sys.executable, "-m", "kecg.cli", "synth", "--n-patients", "12", "--seed", "7",
         "--out", str(base / "user"), "--jobs", "2")  # fmt: skip
    shutil.copytree(base / "user" / "images", project / "scans")
    labels = pd.read_csv(base / "user" / "labels.csv")
    unlabeled = labels["ecg_id"].iloc[0]
    labels.iloc[1:][["ecg_id", "patient_id", "potassium_mmol_l"]].to_csv(
        project / "lab_potassium.csv", index=False
    )
    _run(project, "dvc", "repro")
    report = pd.read_csv(project / "data/interim/ingest_report.csv")
    assert len(report) == len(labels)
    assert report.set_index("ecg_id").loc[unlabeled, "fate"] == "unlabeled"
    assert (report["fate"] == "kept").sum() == len(labels) - 1
    split = pd.read_csv(project / "data/processed/split.csv")
    assert unlabeled not in set(split["ecg_id"])
    pred = pd.read_csv(project / "data/processed/predictions.csv").set_index("ecg_id")
    assert pred.loc[unlabeled, "split"] == "unlabeled"
    assert 1.5 < pred.loc[unlabeled, "k_pred"] < 12.0
    oracle = json.loads((project / "metrics/oracle.json").read_text())
    assert oracle["oracle"] is None
    out = project / "new.csv"
    scans = sorted((project / "scans").iterdir())[:2]
    _run(project, "kecg", "predict", *map(str, scans), "--out", str(out))
    pred = pd.read_csv(out)
    assert (pred["status"] == "ok").all(), pred
    assert (pred["k_lo"] <= pred["k_pred_mmol_l"]).all()
    assert (pred["k_pred_mmol_l"] <= pred["k_hi"]).all()
