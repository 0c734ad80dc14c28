"""Stage synthesize: the synthetic potassium-ECG cohort in ``data/raw/`` (``synth.*`` params).

With ``data.source`` other than ``synthetic`` the cohort is not used: the stage writes only a
README and empty ``images/`` and ``signals/`` folders so the DVC output exists.
"""

import shutil
from pathlib import Path

from kecg.params import load_params
from kecg.synth import spec_from_params, write_cohort

OUT = Path("data/raw")

params = load_params()
synth = params["synth"]
source = params.get("data", {}).get("source", "synthetic")
shutil.rmtree(OUT, ignore_errors=True)
if source == "synthetic":
    write_cohort(
        OUT,
        n_patients=synth["n_patients"],
        seed=synth["seed"],
        artifacts=synth["artifacts"],
        jobs=params["jobs"],
        spec=spec_from_params(synth.get("cohort")),
    )
else:
    for sub in ("images", "signals"):
        (OUT / sub).mkdir(parents=True)
        (OUT / sub / ".keep").write_text("")
    (OUT / "README.txt").write_text(
        f"data.source is {source!r}: the synthetic cohort is not used, so this folder is empty.\n"
        "Set data.source: synthetic in params.yaml to generate it here.\n"
    )
    print(f"synthesize: data.source={source}, synthetic cohort not used -> {OUT}/README.txt")
