"""dvcflow: event-driven process mining for public administrative procedures."""

__version__ = "0.1.0"
