"""Loading ``params.yaml`` for the stage scripts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The parameter file as a dict (the one DVC reads, so stages and DVC agree)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def n_jobs(jobs: int) -> int:
    """Worker count from the ``jobs`` param: 0 or negative means all cores."""
    return jobs if jobs > 0 else max(1, os.cpu_count() or 1)
