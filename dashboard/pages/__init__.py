"""The dashboard's pages: each module has ``PATH``, ``render(svc, filter_values, lang)`` (the page
filled with its figures) and ``register(app, svc)``."""

from dashboard.pages import bottlenecks, case, compare, explorer, overview, reform, warning

PAGES = {
    "overview": overview,
    "explorer": explorer,
    "bottlenecks": bottlenecks,
    "reform": reform,
    "compare": compare,
    "warning": warning,
    "case": case,
}
