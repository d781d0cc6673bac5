"""The one exception every failed call raises."""
from __future__ import annotations

import email.utils
import math
import time
from typing import Any, Optional

#: Codes the client produces itself, when there is no API error answer to take a code from.
#: Server codes (``USER_NOT_FOUND``, ``RATE_LIMIT_EXCEEDED``, … see docs/errors.md) pass through unchanged.
NETWORK_ERROR = "NETWORK_ERROR"
"""The request could not reach the server (DNS failure, refused or reset connection, TLS error). ``status_code`` 0."""
TIMEOUT = "TIMEOUT"
"""No complete answer within the client's ``timeout`` seconds. ``status_code`` 0."""
UNEXPECTED_RESPONSE = "UNEXPECTED_RESPONSE"
"""The server (or a proxy in front of it) answered without the API's JSON shape: a non-2xx whose body is not
``{code, message, …}``, or a 2xx whose body is not JSON. ``status_code`` is the HTTP status."""

CLIENT_ERROR_CODES = (NETWORK_ERROR, TIMEOUT, UNEXPECTED_RESPONSE)


class FaceRecognitionError(Exception):
    """Raised for every non-2xx answer and for network failures.

    ``code`` is the API's stable code (program against it), ``message`` is for humans, ``status_code`` is the
    HTTP status (0 when no HTTP answer came), ``details`` is the API's ``details`` object (or None) and
    ``retry_after`` the seconds of a ``Retry-After`` header (429, 503, 423), else None.

    Example::

        try:
            client.users.get("EMP404")
        except FaceRecognitionError as e:
            if e.code == "USER_NOT_FOUND":
                ...
            elif e.code == "RATE_LIMIT_EXCEEDED":
                time.sleep(e.retry_after or 1)
    """

    def __init__(
        self,
        code: str,
        message: str,
        status_code: int = 0,
        details: Any = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"HTTP {self.status_code}" if self.status_code else "no HTTP answer"
        return f"{self.code} ({where}): {self.message}"

    def __repr__(self) -> str:
        return (
            f"FaceRecognitionError(code={self.code!r}, message={self.message!r}, status_code={self.status_code!r}, "
            f"details={self.details!r}, retry_after={self.retry_after!r})"
        )


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` is delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None  # type: ignore[assignment]
    if seconds is not None:
        return max(0.0, seconds) if seconds == seconds else None  # NaN → None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return float(max(0, math.ceil(when.timestamp() - current)))
