"""Paper ECG images to 12-lead records: geometry, layout, trace extraction, batch runs, metrics."""

from kecg.digitize.batch import (
    digitize_file,
    digitize_files,
    draw_overlay,
    extract_leads,
    select_leads,
)
from kecg.digitize.core import Digitized, DigitizeError, digitize_array, digitize_image
from kecg.digitize.load import ImageError, read_image
from kecg.digitize.metrics import record_snr_db, shown_intervals_s, snr_db

__all__ = [
    "DigitizeError",
    "Digitized",
    "ImageError",
    "digitize_array",
    "digitize_file",
    "digitize_files",
    "digitize_image",
    "draw_overlay",
    "extract_leads",
    "read_image",
    "record_snr_db",
    "select_leads",
    "shown_intervals_s",
    "snr_db",
]
