"""Synthetic potassium-ECG cohort: physiologically modelled 12-lead ECGs with ground truth."""

from kecg.synth.cohort import (
    CohortSpec,
    plan_cohort,
    spec_from_params,
    synthesize_ecg,
    write_cohort,
)

__all__ = ["CohortSpec", "plan_cohort", "spec_from_params", "synthesize_ecg", "write_cohort"]
