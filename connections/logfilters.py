"""Logging filters: a refused or missing page is one line, not a traceback."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Drop the traceback Django attaches to 4xx responses (PermissionDenied, Http404).

    A 403 or 404 is the app working as intended; the path and status say all there is to say.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = record.exc_text = None
        return True


class SkipClientErrors(logging.Filter):
    """Drop the development server's access line for a 4xx: django.request already logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not 400 <= getattr(record, "status_code", 0) < 500
