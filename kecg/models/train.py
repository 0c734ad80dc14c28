"""Training helpers shared by the VAE, the regressor and the DSCRNN.

One loop (:func:`fit`): Adam, ReduceLROnPlateau on the validation loss, gradient clipping, early
stopping, and the weights of the best validation epoch restored at the end. Batches are drawn
with a seeded ``torch.Generator`` in the main process, so a run is repeatable on one machine.
Weights are saved as safetensors next to a JSON manifest (config, normalisation, history).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

StepLoss = Callable[[nn.Module, tuple[torch.Tensor, ...]], dict[str, torch.Tensor]]


def setup_torch(seed: int, threads: int = 1, device: str = "auto") -> torch.device:
    """Seed torch, make it deterministic, set its CPU thread count, and pick the device.

    One thread is the default: the models are small, so extra threads barely help, they slow
    to a crawl when other processes share the cores, and results would depend on the core count.
    """
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads if threads > 0 else max(1, os.cpu_count() or 1))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.device(device)


def fit_standardizer(x: np.ndarray, axis: int | tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of training data over ``axis`` (std floored at 1e-8)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("standardizer input contains NaN or inf; impute first")
    return x.mean(axis=axis, keepdims=True), np.maximum(x.std(axis=axis, keepdims=True), 1e-8)


def _batches(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    out = list(order.split(batch_size))
    if generator is not None and len(out) > 1 and len(out[-1]) < 2:
        out.pop()  # BatchNorm cannot train on a single sample
    return out


def evaluate_loss(
    model: nn.Module, step_loss: StepLoss, data: tuple[torch.Tensor, ...], batch_size: int
) -> dict[str, float]:
    """Sample-weighted mean of every loss component over ``data`` in eval mode."""
    model.eval()
    n = len(data[0])
    sums: dict[str, float] = {}
    with torch.no_grad():
        for idx in _batches(n, batch_size, None):
            for k, v in step_loss(model, tuple(t[idx] for t in data)).items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
    return {k: v / n for k, v in sums.items()}


def fit(
    model: nn.Module,
    step_loss: StepLoss,
    train: tuple[torch.Tensor, ...],
    val: tuple[torch.Tensor, ...],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    patience: int = 0,
    clip_norm: float = 0.0,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place; return per-epoch ``train_*``/``val_*`` losses and the lr.

    ``step_loss`` returns a dict whose ``"loss"`` entry is minimised. ``patience`` > 0 stops when
    the validation loss has not improved for that many epochs; the best epoch's weights are kept.
    """
    torch.manual_seed(seed)  # dropout masks and VAE sampling noise
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=5)
    best, best_state, since_best, history = float("inf"), None, 0, []
    for epoch in range(epochs):
        model.train()
        sums: dict[str, float] = {}
        n_seen = 0
        for idx in _batches(len(train[0]), batch_size, generator):
            parts = step_loss(model, tuple(t[idx] for t in train))
            opt.zero_grad()
            parts["loss"].backward()
            if clip_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            opt.step()
            n_seen += len(idx)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
        row = {f"train_{k}": v / n_seen for k, v in sums.items()}
        row |= {f"val_{k}": v for k, v in evaluate_loss(model, step_loss, val, batch_size).items()}
        row["lr"] = opt.param_groups[0]["lr"]
        history.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row)
        sched.step(row["val_loss"])
        if row["val_loss"] < best:
            best, best_state, since_best = row["val_loss"], copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
            if 0 < patience <= since_best:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def predict(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 256
) -> np.ndarray:
    """``fn`` (a model or one of its methods, already in eval mode) on ``x`` in chunks, as numpy."""
    with torch.no_grad():
        out = [fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(out).double().cpu().numpy()


def save_model(path: str | Path, model: nn.Module, manifest: dict[str, Any]) -> None:
    """Write ``<path>.safetensors`` (weights) and ``<path>.json`` (manifest)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path.with_suffix(".safetensors")))
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def load_model(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load weights saved by :func:`save_model` into ``model``; return the manifest."""
    path = Path(path)
    model.load_state_dict(load_file(str(path.with_suffix(".safetensors"))))
    model.eval()
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
