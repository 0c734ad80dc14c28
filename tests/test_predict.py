"""kecg predict: calibrated intervals, the bad-input corpus beside good files, model artifacts."""

import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from kecg.bench.predict import train_tiny_models
from kecg.cli import main as cli
from kecg.evaluate import HYPER_MMOL_L
from kecg.predict import (
    ModelArtifactError,
    calibrate,
    input_median_beat,
    interval,
    interval_coverage,
    load_models,
    p_hyper,
    predict_files,
)

CORPUS = Path(__file__).parent / "data" / "bad_inputs"


def test_conformal_interval_covers_80_percent_of_new_cases() -> None:
    rng = np.random.default_rng(1)
    k_val = rng.uniform(3.0, 8.0, 400)
    cal = calibrate(k_val, k_val + rng.normal(0, 0.5, 400))
    assert cal["half_width_mmol_l"] == pytest.approx(1.2816 * 0.5, rel=0.15)  # z(0.9) σ
    k_test = rng.uniform(3.0, 8.0, 4000)
    coverage = interval_coverage(k_test, k_test + rng.normal(0, 0.5, 4000), cal)
    assert 0.77 <= coverage <= 0.84
    lo, hi = interval(np.array([5.0]), cal)
    assert hi[0] - lo[0] == pytest.approx(2 * cal["half_width_mmol_l"])


def test_p_hyper_from_residuals() -> None:
    cal = calibrate(np.zeros(9), -np.linspace(-1.0, 1.0, 9))  # residuals -1 … 1 in 0.25 steps
    p = p_hyper(np.array([3.0, HYPER_MMOL_L - 0.2, HYPER_MMOL_L, 8.0]), cal)
    np.testing.assert_allclose(p, [0.0, 4 / 9, 5 / 9, 1.0])


def crafted_png(path: Path, width_px: int, height_px: int) -> None:
    """A valid PNG header declaring ``width_px × height_px`` and one tiny IDAT (a bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width_px, height_px, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("predict")
    images = train_tiny_models(root, n_images=6, artifacts="scan", epochs=2)
    return root, images


@pytest.fixture(scope="module")
def batch(tiny: tuple[Path, list[Path]]) -> pd.DataFrame:
    root, images = tiny
    bad = root / "bad"
    shutil.copytree(CORPUS, bad)
    rgb = np.asarray(Image.open(images[0]).convert("RGB"))
    Image.fromarray(np.rot90(rgb)).save(bad / "rotated_90.png")
    crafted_png(bad / "huge.png", 20_000, 20_000)
    record = root / "cohort" / "signals" / f"{images[1].stem}.hea"
    inputs = [
        images[0],
        *(bad / n for n in ("empty.png", "truncated.png", "blank_page.png", "noise.png")),
        *(bad / n for n in ("not_an_ecg.png", "rotated_90.png", "report.pdf", "huge.png")),
        images[1],
        record,
    ]
    return predict_files(inputs, load_models(root / "models"), jobs=1, progress=False)


def test_new_images_are_digitized_with_the_training_low_pass(tiny) -> None:
    """The models' manifest carries ``digitize.lowpass_hz``: a scan is read as in training."""
    root, images = tiny
    pre = load_models(root / "models").preprocessing
    assert pre["digitize_lowpass_hz"] == 50.0
    smooth = input_median_beat(images[0], pre).beat_mv
    raw = input_median_beat(images[0], pre | {"digitize_lowpass_hz": None}).beat_mv
    jitter = np.abs(np.diff(raw, n=2, axis=1)).mean() / np.abs(np.diff(smooth, n=2, axis=1)).mean()
    assert jitter > 1.2


def test_bad_inputs_each_get_their_reason(batch: pd.DataFrame) -> None:
    reason = dict(zip(batch["input"].map(lambda p: Path(p).name), batch["reason"], strict=True))
    status = dict(zip(batch["input"].map(lambda p: Path(p).name), batch["status"], strict=True))
    assert reason["empty.png"] == "empty file (0 bytes)"
    assert reason["truncated.png"].startswith("cannot decode image (truncated or corrupt)")
    assert reason["blank_page.png"] == "blank image (no ink)"
    assert "no ECG layout found" in reason["not_an_ecg.png"]
    assert reason["rotated_90.png"] == "page is rotated by 90° (trace rows run vertically)"
    assert reason["report.pdf"].startswith("unknown file type '.pdf'")
    assert reason["huge.png"].startswith("image too large: 20000x20000 px")
    assert status["noise.png"] == "failed" and reason["noise.png"]


def test_good_inputs_in_the_same_batch_are_predicted(batch: pd.DataFrame) -> None:
    assert list(batch.columns) == [
        "input", "ecg_id", "status", "reason", "k_pred_mmol_l", "k_lo", "k_hi", "k_bin", "p_hyper",
    ]  # fmt: skip
    ok = batch[batch["status"] == "ok"]
    assert len(ok) == 3 and (ok["reason"] == "").all()
    assert np.isfinite(ok["k_pred_mmol_l"]).all()
    assert (ok["k_lo"] < ok["k_pred_mmol_l"]).all() and (ok["k_pred_mmol_l"] < ok["k_hi"]).all()
    assert ok["p_hyper"].between(0, 1).all()
    expected_bin = pd.cut(ok["k_pred_mmol_l"], [-np.inf, 4, 5, 6, 7, 8, np.inf], right=False,
                          labels=["<4", "4-5", "5-6", "6-7", "7-8", ">=8"]).astype(str)  # fmt: skip
    assert list(ok["k_bin"]) == list(expected_bin)
    # the same ECG as an image and as its true WFDB record: close predictions
    image_k, record_k = ok["k_pred_mmol_l"].iloc[1], ok["k_pred_mmol_l"].iloc[2]
    assert abs(image_k - record_k) < 0.5
    failed = batch[batch["status"] == "failed"]
    assert failed["k_pred_mmol_l"].isna().all() and len(failed) == 8


def test_cli_exit_code_only_fails_when_every_input_fails(
    tiny: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    root, images = tiny
    out = tmp_path / "p.csv"
    models = str(root / "models")
    bad = [str(CORPUS / "empty.png"), str(CORPUS / "report.pdf")]
    assert cli(["predict", *bad, "--models", models, "--out", str(out), "--jobs", "1"]) == 1
    assert set(pd.read_csv(out)["status"]) == {"failed"}
    assert cli(["predict", *bad, str(images[2]), "--models", models, "--out", str(out),
                "--jobs", "1"]) == 0  # fmt: skip
    assert list(pd.read_csv(out)["status"]) == ["failed", "failed", "ok"]


def test_missing_corrupt_or_mismatched_artifacts(
    tiny: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    root, _ = tiny
    with pytest.raises(ModelArtifactError, match=r"regressor\.json: missing; run `dvc repro`"):
        load_models(tmp_path / "nothing")
    models = tmp_path / "models"
    shutil.copytree(root / "models", models)
    weights = (models / "vae.safetensors").read_bytes()
    (models / "vae.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ModelArtifactError, match="corrupt or mismatched model files"):
        load_models(models)
    shutil.copy(root / "models" / "vae.safetensors", models / "vae.safetensors")
    manifest = json.loads((models / "regressor.json").read_text())
    (models / "regressor.json").write_text(
        json.dumps(manifest | {"features": manifest["features"][1:]})
    )
    with pytest.raises(ModelArtifactError, match="do not match the VAE"):
        load_models(models)
    (models / "regressor.json").write_text(json.dumps(manifest | {"format_version": 0}))
    with pytest.raises(ModelArtifactError, match="format_version 0, this kecg reads 1"):
        load_models(models)
    without = {k: v for k, v in manifest.items() if k != "calibration"}
    (models / "regressor.json").write_text(json.dumps(without))
    with pytest.raises(ModelArtifactError, match="corrupt manifest, lacks calibration"):
        load_models(models)
    (models / "regressor.json").write_text("{not json")
    with pytest.raises(ModelArtifactError, match="corrupt manifest"):
        load_models(models)
