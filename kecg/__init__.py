"""kecg: estimate serum potassium (K⁺) from 12-lead ECG printouts, reproducibly."""

__version__ = "0.1.0"
