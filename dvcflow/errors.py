"""The one exception type a user can act on: its message names the file, field or setting.

The CLI prints it as one line (no traceback); the API turns it into a problem detail.
"""


class DvcflowError(Exception):
    """An error caused by the user's input or settings, with a message that says what to fix."""


class InputFileError(DvcflowError):
    """A file to import is missing, unreadable or malformed."""


class FilterError(DvcflowError):
    """A filter names an unknown procedure or unit, or selects nothing."""
