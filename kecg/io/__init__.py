"""Reading and writing ECG records, lead names and parameter files."""

from kecg.io.formats import RECORD_SUFFIXES, load_record
from kecg.io.records import (
    LEADS,
    Record,
    normalize_lead_name,
    read_record,
    write_record,
)

__all__ = [
    "LEADS",
    "RECORD_SUFFIXES",
    "Record",
    "load_record",
    "normalize_lead_name",
    "read_record",
    "write_record",
]
