"""Stage train_regressor: the seed MLP (an ensemble of them) on [latents ‖ features] → K⁺."""

import time

import pandas as pd

from kecg.evaluate import align
from kecg.models import regressor_hidden, setup_torch, train_regressor
from kecg.params import load_params
from kecg.predict import predict_manifest

t0 = time.perf_counter()
p = load_params()
m = p["models"]
device = setup_torch(p["seed"], p["torch_threads"], p["device"])
features = pd.read_csv("data/processed/features.csv", index_col="ecg_id")
ids = features.index.astype(str)
split, k = align(
    ids, pd.read_csv("data/processed/split.csv"), pd.read_csv("data/interim/labels.csv")
)
x = features.to_numpy(dtype=float)
tr, va = split == "train", split == "val"
hidden = regressor_hidden(p["hidden_dim"])
fitted, histories = train_regressor(
    x[tr],
    k[tr],
    x[va],
    k[va],
    hidden=hidden,
    dropout=m["regressor_dropout"],
    members=m["regressor_members"],
    seed=p["seed"],
    epochs=p["num_epochs_regressor"],
    batch_size=p["batch_size"],
    learning_rate=p["learning_rate"],
    patience=m["regressor_patience"],
    clip_norm=m["clip_norm"],
    device=device,
)
fitted.save(
    "models/regressor",
    {"model": "PotassiumRegressor", "hidden": hidden, "members": m["regressor_members"]}
    | {"features": list(features.columns)}
    | predict_manifest(p, k[va], fitted.predict(x[va])),
)
pred = pd.DataFrame({"ecg_id": ids, "split": split, "k_true": k, "k_pred": fitted.predict(x)})
pred.to_csv("data/processed/predictions.csv", index=False, float_format="%.6g")
epochs = "/".join(str(len(h)) for h in histories)
print(
    f"train_regressor: {int(tr.sum())} train ECGs, {x.shape[1]} inputs, "
    f"{len(histories)} members ({epochs} epochs) in {time.perf_counter() - t0:.1f} s"
)
