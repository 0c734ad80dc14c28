"""Stage train_vae: the β-VAE on the training median beats (best epoch by validation loss)."""

import time

import numpy as np
import pandas as pd
from dvclive import Live

from kecg.evaluate import align
from kecg.evaluate.plots import reconstructions_png, write_json
from kecg.models import VAEConfig, reconstruct, save_model, setup_torch, train_vae
from kecg.params import load_params

t0 = time.perf_counter()
p = load_params()
device = setup_torch(p["seed"], p["torch_threads"], p["device"])
data = np.load("data/processed/median_beats.npz")
beats, ids = data["beats"], data["ecg_ids"].astype(str)
split, _ = align(
    ids, pd.read_csv("data/processed/split.csv"), pd.read_csv("data/interim/labels.csv")
)
config = VAEConfig(
    **{k: p[k] for k in ("in_channel", "channels", "depth", "width", "kernel_size")},
    **{k: p[k] for k in ("encoder_dropout", "decoder_dropout", "softplus_eps", "latent_dim")},
    downsample=p["models"]["vae_downsample"],
)
with Live("plots/vae_training", dvcyaml=False, save_dvc_exp=False) as live:

    def log(epoch: int, row: dict[str, float]) -> None:
        for name, value in row.items():
            live.log_metric(name, value)
        live.next_step()

    model, manifest = train_vae(
        beats[split == "train"],
        beats[split == "val"],
        config,
        beta=p["beta"],
        reconstruction_loss=p["reconstruction_loss"],
        epochs=p["num_epochs_vae"],
        batch_size=p["batch_size"],
        learning_rate=p["learning_rate"],
        seed=p["seed"],
        device=device,
        on_epoch=log,
    )
save_model("models/vae", model, manifest)
val = np.flatnonzero(split == "val")[:4]
recon = reconstruct(model, manifest, beats[val])
leads = [str(lead) for lead in data["leads"]]
reconstructions_png(
    "plots/reconstructions.png", beats[val], recon, leads, float(data["fs_hz"]), ids[val]
)
best = manifest["best_val"]
write_json("metrics/vae.json", {k: best[k] for k in ("val_loss", "val_recon", "val_kl")})
print(
    f"train_vae: {int((split == 'train').sum())} train beats, best epoch {manifest['best_epoch']}"
    f"/{manifest['epochs_run']}, val loss {best['val_loss']:.2f} (recon {best['val_recon']:.2f},"
    f" KL {best['val_kl']:.2f}) on {device} in {time.perf_counter() - t0:.1f} s"
)
