"""Benchmark of the whole pipeline: ``dvc repro`` from scratch, with the wall time of every stage.

``python -m kecg.bench pipeline [--set KEY=VALUE ...] [--keep DIR]`` copies the project's source
files (what ``git ls-files`` lists, without data, models, metrics or plots) into a temporary
folder, applies the ``--set`` overrides to its ``params.yaml`` (dotted keys, YAML values, like
``dvc exp run -S``), runs ``dvc repro`` there as a fresh clone would, and prints the seconds each
stage took (from the moment DVC starts it to the moment the next one starts) and the total.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("data/", "metrics/", "plots/", "models/", "dvc_plots/")


def set_param(params: dict, dotted: str, value: object) -> None:
    """Set ``params[a][b]...`` from a dotted key ``"a.b"`` (the key must already exist)."""
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    if last not in node:
        raise KeyError(f"params.yaml has no key {dotted!r}")
    node[last] = value


def tool_env() -> dict[str, str]:
    """The environment with this interpreter's ``bin`` first on PATH (so ``dvc`` is ours)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def copy_project(dst: Path, overrides: Mapping[str, object], src: Path = ROOT) -> Path:
    """A fresh git + DVC copy of ``src``'s source files at ``dst`` with params ``overrides``."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=src, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    for name in files:
        if (src / name).is_file() and not name.startswith(GENERATED) and name != "dvc.lock":
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dst / name)
    params = yaml.safe_load((dst / "params.yaml").read_text(encoding="utf-8"))
    for key, value in overrides.items():
        set_param(params, key, value)
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    git = ("git", "-c", "user.name=kecg", "-c", "user.email=kecg@example.org")
    for args in (("git", "init", "-q"), ("git", "add", "-A"), (*git, "commit", "-q", "-m", "copy")):
        subprocess.run(args, cwd=dst, env=tool_env(), capture_output=True, check=True)
    return dst


def timed_repro(project: Path) -> tuple[dict[str, float], str]:
    """Run ``dvc repro`` in ``project``; return seconds per stage run and the full output."""
    start: dict[str, float] = {}
    lines: list[str] = []
    proc = subprocess.Popen(
        ["dvc", "repro"], cwd=project, env=tool_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Running stage '"):
            start[line.split("'")[1]] = time.perf_counter()
    end = time.perf_counter()
    if proc.wait() != 0:
        raise RuntimeError(f"dvc repro failed in {project}:\n{''.join(lines[-40:])}")
    names = list(start)
    ends = [start[n] for n in names[1:]] + [end]
    return {n: e - start[n] for n, e in zip(names, ends, strict=True)}, "".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kecg.bench pipeline", description=__doc__)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--keep", type=Path, help="run in this (new) folder and keep it")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    with tempfile.TemporaryDirectory(prefix="kecg-bench-") as tmp:
        project = copy_project(args.keep or Path(tmp), overrides)
        t0 = time.perf_counter()
        seconds, _ = timed_repro(project)
        total = time.perf_counter() - t0
    print(f"dvc repro from scratch, {os.cpu_count()} cores, overrides {overrides or 'none'}")
    for name, s in seconds.items():
        print(f"  {name:<16} {s:7.1f} s")
    print(f"  {'total':<16} {total:7.1f} s ({total / 60:.1f} min)")
    return 0
