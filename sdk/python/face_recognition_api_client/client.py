"""The client."""
from __future__ import annotations

from typing import Any, Mapping, Optional, cast

from ._http import Transport
from .resources import Authentication, Enrollment, Users, Webhooks
from .types import Status


class Client:
    """A Wajah API client.

    ``base_url`` is the API base (``http://localhost:8000/api``); a bare origin (``http://localhost:8000``)
    means ``/api``. Every request sends ``Authorization: ApiKey <api_key>:<secret_key>``. ``timeout`` is
    in seconds, per request (connect and each read); a request that exceeds it raises
    ``FaceRecognitionError`` with code ``TIMEOUT``.

    Example::

        client = Client("http://localhost:8000/api", "wk_…", "wsk_…")
        client.users.create(external_id="EMP001", name="John Doe")
        client.enrollment.direct("EMP001", "face.jpg")
        decision = client.authentication.verify("EMP001", "probe.jpg")
        decision["result"]["authenticated"]
    """

    def __init__(self, base_url: str, api_key: str, secret_key: str, timeout: float = 30) -> None:
        self._http = Transport(base_url, api_key, secret_key, timeout)
        self.users = Users(self._http)
        self.enrollment = Enrollment(self._http)
        self.authentication = Authentication(self._http)
        self.webhooks = Webhooks(self._http)

    @property
    def base_url(self) -> str:
        """The resolved API base, e.g. ``http://localhost:8000/api``."""
        return self._http.base

    @property
    def timeout(self) -> float:
        return self._http.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._http.timeout = seconds

    def status(self) -> Status:
        """``GET /api/core/status/``: ``{status, version, timestamp, services{database, redis, face_recognition}}``."""
        return cast(Status, self._http.request("GET", "/core/status/"))

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Any:
        """Any other JSON route, with the same credentials and errors, e.g.
        ``client.request("GET", "/analytics/dashboard/", query={"period": "last_7_days"})``."""
        if not path.startswith("/"):
            path = "/" + path
        return self._http.request(method.upper(), path, query=query, json=json, headers=headers)

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, timeout={self.timeout!r})"  # never the secret


#: The JavaScript SDK's name for the same thing.
FaceRecognitionClient = Client
