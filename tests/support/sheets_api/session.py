"""Pointing ``requests``/gspread at the server: a Session that rewrites Google's base URL."""

from __future__ import annotations

from typing import Any

import requests

GOOGLE_SHEETS = "https://sheets.googleapis.com"


class RedirectSession(requests.Session):
    """A ``requests.Session`` that sends ``https://sheets.googleapis.com/...`` to ``base_url``.

    gspread builds absolute URLs (``gspread.urls``) and calls ``session.request(method, url, ...)``,
    so overriding ``request`` is enough: ``gspread.Client(auth=None, session=RedirectSession(url))``.
    """

    def __init__(self, base_url: str, google_base: str = GOOGLE_SHEETS):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.google_base = google_base

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(self.google_base):
            url = self.base_url + url[len(self.google_base) :]
        return super().request(method, url, *args, **kwargs)


def gspread_session(base_url: str) -> RedirectSession:
    return RedirectSession(base_url)
