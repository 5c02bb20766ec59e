"""Following a staff import job's page until the job has ended."""

from __future__ import annotations

import time

import httpx
from fastapi.testclient import TestClient


def finished(client: TestClient, response: httpx.Response, timeout: float = 60.0
             ) -> httpx.Response:
    """The job page once its job has ended (the page stops polling then)."""
    deadline = time.monotonic() + timeout
    while 'hx-trigger="every 1s"' in response.text and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.get(str(response.url))
    return response
