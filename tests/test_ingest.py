"""kecg.io.load_record (WFDB, CSV, NPY) and the ingest of a user's folder and labels CSV."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kecg.io import LEADS, Record, load_record, write_record
from kecg.io.ingest import LEAKAGE_WARNING, ingest, read_labels, summarize

CORPUS = Path(__file__).parent / "data" / "bad_inputs"
FS_HZ = 250.0


def ecg_like(n: int = 2500, fs_hz: float = FS_HZ) -> np.ndarray:
    """(n, 12) signal: a 1 Hz spike train with a different gain per lead, in mV."""
    t_s = np.arange(n) / fs_hz
    beat = np.exp(-(((t_s % 1.0) - 0.3) ** 2) / (2 * 0.01**2))
    return beat[:, None] * np.linspace(0.5, 1.6, 12)[None, :]


def test_csv_with_time_column_and_odd_lead_names(tmp_path: Path) -> None:
    x = ecg_like()
    names = ["i", "II", "iii", "AVR", "avl", "aVF", "v1", "V2", "V3", "V4", "v5", "V6"]
    frame = pd.DataFrame(x[:, ::-1], columns=names[::-1])
    frame.insert(0, "time", np.arange(len(x)) / FS_HZ)
    frame.to_csv(tmp_path / "a.csv", index=False)
    rec = load_record(tmp_path / "a.csv")
    assert rec.fs_hz == pytest.approx(FS_HZ)
    assert rec.standard12().leads == LEADS
    np.testing.assert_allclose(rec.standard12().signal_mv, x, atol=1e-9)


def test_csv_without_time_needs_a_rate(tmp_path: Path) -> None:
    pd.DataFrame(ecg_like()[:, [1, 10]], columns=["MLII", "V5"]).to_csv(
        tmp_path / "b.csv", index=False
    )
    with pytest.raises(ValueError, match=r"b\.csv: no time column and no sampling rate"):
        load_record(tmp_path / "b.csv")
    rec = load_record(tmp_path / "b.csv", fs_hz=FS_HZ)
    assert rec.leads == ("II", "V5") and rec.fs_hz == FS_HZ


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("II,foo\n1,2\n", r"columns \['foo'\] are not lead names"),
        ("II,V5\n1,abc\n", r"line 2, column 'V5': 'abc' is not a number"),
        ("II,ii\n1,2\n", "a lead appears twice"),
        ("t_s,II\n0,1\n0.004,2\n0.002,3\n", "not strictly increasing"),
    ],
)
def test_csv_errors_name_file_and_reason(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        load_record(tmp_path / "bad.csv")
    assert "bad.csv" in str(err.value)


def test_npy_needs_rate_and_12_columns(tmp_path: Path) -> None:
    x = ecg_like()
    np.save(tmp_path / "r.npy", x)
    with pytest.raises(ValueError, match="need a declared sampling rate"):
        load_record(tmp_path / "r.npy")
    rec = load_record(tmp_path / "r.npy", fs_hz=FS_HZ)
    assert rec.leads == LEADS and rec.fs_hz == FS_HZ
    np.testing.assert_array_equal(rec.signal_mv, x)
    np.save(tmp_path / "s.npy", x[:, :3])
    with pytest.raises(ValueError, match=r"shaped \(2500, 3\), expected \(n_samples, 12\)"):
        load_record(tmp_path / "s.npy", fs_hz=FS_HZ)


def test_wfdb_any_rate_and_declared_rate_conflict(tmp_path: Path) -> None:
    write_record(tmp_path / "w", Record(ecg_like(), FS_HZ, LEADS, "w"))
    rec = load_record(tmp_path / "w.hea")
    assert rec.fs_hz == FS_HZ and rec.leads == LEADS
    assert np.abs(rec.signal_mv - ecg_like()).max() < 1e-3
    with pytest.raises(ValueError, match="header says 250 Hz but 500 Hz was declared"):
        load_record(tmp_path / "w.hea", fs_hz=500.0)


def test_empty_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(ValueError, match=r"e\.csv: empty file"):
        load_record(tmp_path / "e.csv")
    (tmp_path / "x.edf").write_bytes(b"0")
    with pytest.raises(ValueError, match=r"unknown record type '\.edf'"):
        load_record(tmp_path / "x.edf")


def test_labels_missing_columns_is_a_clear_error() -> None:
    with pytest.raises(
        ValueError, match=r"labels_missing_columns\.csv: missing column\(s\) ecg_id"
    ):
        read_labels(CORPUS / "labels_missing_columns.csv")


def test_labels_each_error_names_file_and_line() -> None:
    labels = read_labels(CORPUS / "labels_errors.csv")
    p = labels.problems
    assert "labels_errors.csv line 3: empty potassium_mmol_l for empty_k" in p["empty_k"]
    assert "line 4: potassium_mmol_l 'high' for text_k is not a number" in p["text_k"]
    assert "line 5: potassium_mmol_l 0.9 for low_k is outside 1.5–12 mmol/L" in p["low_k"]
    assert (
        "line 7: duplicate ecg_id dup_k with a different value (6.3 here, 5.1 on line 6)"
        in p["dup_k"]
    )
    assert sorted(labels.table.index) == ["good_a", "no_file", "same_twice"]
    assert labels.table.loc["same_twice", "potassium_mmol_l"] == 7.0


def records_folder(tmp_path: Path) -> Path:
    """A user's records folder: good files in three formats, a corrupt one, an unknown type."""
    folder = tmp_path / "signals"
    folder.mkdir()
    x = ecg_like()
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    pd.DataFrame(x, columns=names).to_csv(folder / "good_a.csv", index=False)
    np.save(folder / "empty_k.npy", x)
    write_record(folder / "dup_k", Record(x, FS_HZ, LEADS, "dup_k"))
    np.save(folder / "same_twice.npy", x)
    np.save(folder / "unlabeled_one.npy", x)
    (folder / "zero.csv").write_bytes(b"")
    (folder / "notes.txt").write_text("visit notes")
    (folder / ".DS_Store").write_bytes(b"\0")
    return folder


def test_ingest_records_every_file_has_a_fate(tmp_path: Path) -> None:
    folder = records_folder(tmp_path)
    report, labels, warnings = ingest("records", folder, CORPUS / "labels_errors.csv", FS_HZ)
    assert list(report.columns) == ["ecg_id", "path", "kind", "fate", "reason"]
    fate = dict(zip(report["ecg_id"], report["fate"], strict=True))
    reason = dict(zip(report["ecg_id"], report["reason"], strict=True))
    assert fate == {
        "dup_k": "unlabeled", "empty_k": "unlabeled", "good_a": "kept", "notes": "rejected",
        "same_twice": "kept", "unlabeled_one": "unlabeled", "zero": "rejected",
        "no_file": "rejected", "text_k": "rejected", "low_k": "rejected",
    }  # fmt: skip
    assert reason["notes"].startswith("unknown file type '.txt'")
    assert reason["zero"] == "empty file (0 bytes)"
    assert "no label in" in reason["unlabeled_one"]
    assert "empty potassium_mmol_l" in reason["empty_k"]
    assert "line 10: label without a file" in reason["no_file"]
    assert "is not a number; and no file" in reason["text_k"]
    assert (report["kind"] == "record").all() and warnings == []
    assert list(labels.columns) == ["ecg_id", "patient_id", "potassium_mmol_l"]
    assert labels.to_dict("list") == {
        "ecg_id": ["good_a", "same_twice"],
        "patient_id": ["p1", "p6"],
        "potassium_mmol_l": [4.2, 7.0],
    }
    text = summarize(report)
    assert text.startswith("ingest: 2 kept, 3 unlabeled") and "5 rejected" in text


def test_ingest_without_patient_id_warns_about_leakage(tmp_path: Path) -> None:
    folder = records_folder(tmp_path)
    (tmp_path / "labels.csv").write_text("ecg_id,potassium_mmol_l\ngood_a,4.4\nsame_twice,6.1\n")
    _, labels, warnings = ingest("records", folder, tmp_path / "labels.csv", FS_HZ)
    assert warnings == [f"{tmp_path / 'labels.csv'}: {LEAKAGE_WARNING}"]
    assert list(labels["patient_id"]) == list(labels["ecg_id"]) == ["good_a", "same_twice"]


def test_ingest_images_checks_headers_and_types(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    shutil.copytree(CORPUS, folder)
    (tmp_path / "labels.csv").write_text("ecg_id,potassium_mmol_l\nblank_page,5.0\n")
    report, _, _ = ingest("images", folder, tmp_path / "labels.csv")
    got = report.set_index("ecg_id")
    assert got.loc["empty", "fate"] == "rejected"
    assert got.loc["empty", "reason"] == "empty file (0 bytes)"
    assert got.loc["report", "reason"].startswith("unknown file type '.pdf'")
    assert got.loc["blank_page", "fate"] == "kept"
    assert got.loc["noise", "fate"] == "unlabeled"  # left to the digitizer to judge
    assert (got["kind"] == "image").all()


def test_ingest_refuses_unknown_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"data\.source must be one of"):
        ingest("dicom", tmp_path, None)


def test_cli_ingest_writes_report_and_labels(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from kecg.cli import main as cli

    folder = records_folder(tmp_path)
    out = tmp_path / "out"
    args = ["ingest", str(folder), "--labels", str(CORPUS / "labels_errors.csv"), "--source",
            "records", "--fs-hz", "250", "--out", str(out)]  # fmt: skip
    assert cli(args) == 0
    assert "ingest: 2 kept, 3 unlabeled" in capsys.readouterr().out
    assert len(pd.read_csv(out / "ingest_report.csv")) == 10
    assert list(pd.read_csv(out / "labels.csv")["ecg_id"]) == ["good_a", "same_twice"]
