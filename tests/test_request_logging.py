"""A refused or missing page is logged once, as one line without a traceback."""

import io
import logging
import uuid

import pytest
from django.test import override_settings
from django.urls import reverse


@pytest.fixture
def log_output():
    """Everything the configured stream handlers print for django.request, in one buffer."""
    buffer, swapped = io.StringIO(), []
    logger = logging.getLogger("django.request")
    while logger:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                swapped.append((handler, handler.setStream(buffer)))
        logger = logger.parent if logger.propagate else None
    yield buffer
    for handler, stream in swapped:
        handler.setStream(stream)


@override_settings(DEBUG=True)  # Django's own console handler prints only in development
def test_a_403_is_logged_once_without_a_traceback(client, viewer, log_output):
    client.force_login(viewer)
    assert client.get(reverse("connections:audit")).status_code == 403
    output = log_output.getvalue()
    assert output.count("Forbidden (Permission denied): /audit/") == 1, output
    assert "Traceback" not in output


@override_settings(DEBUG=True)
def test_a_404_is_logged_once_without_a_traceback(client, viewer, log_output):
    client.force_login(viewer)
    path = reverse("connections:detail", args=[uuid.uuid4()])
    assert client.get(path).status_code == 404
    output = log_output.getvalue()
    assert output.count(f"Not Found: {path}") == 1, output
    assert "Traceback" not in output
