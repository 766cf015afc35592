"""Reform analysis: full-online readiness, step candidates, what-if, impact, service index.

Every function returns plain JSON-serialisable dicts with bilingual (vi/en) labels, so the
CLI, the read API and the dashboard show the same figures.
"""

from mining.reform.candidates import candidates
from mining.reform.impact import impact
from mining.reform.readiness import readiness
from mining.reform.service_index import kpi
from mining.reform.whatif import whatif

__all__ = ["candidates", "impact", "kpi", "readiness", "whatif"]
