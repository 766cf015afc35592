"""File importers: CSV, XES, Parquet and the national portal's dossier JSON, as events.

``read_events(path, options)`` yields chunks of wire-format event dicts (``dvcflow replay``
streams them); ``import_file(path, store, options)`` validates, pseudonymises and writes
them to the store, and returns an ``ImportReport``.
"""

from ingest.importers.mapping import parse_map
from ingest.importers.options import FORMATS, ImportOptions, ImportReport, RowError
from ingest.importers.run import import_file, read_events
from ingest.importers.source import detect_format

__all__ = [
    "FORMATS",
    "ImportOptions",
    "ImportReport",
    "RowError",
    "detect_format",
    "import_file",
    "parse_map",
    "read_events",
]
