"""The synthetic event-log generator: realistic Vietnamese dossiers with planted facts.

``generate(procedures, cases, seed, out)`` writes ``events.parquet``, ``events.csv`` and
``ground_truth.json`` (the planted facts, measured on what was written).
"""

from sample_logs.generator.api import GenerateResult, generate

__all__ = ["GenerateResult", "generate"]
