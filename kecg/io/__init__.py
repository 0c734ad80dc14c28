"""Reading and writing ECG records, lead names and parameter files."""

from kecg.io.records import (
    LEADS,
    Record,
    normalize_lead_name,
    read_record,
    write_record,
)

__all__ = ["LEADS", "Record", "normalize_lead_name", "read_record", "write_record"]
