"""The API groups of a Client: users, enrollment, authentication, webhooks."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple, cast

from ._http import Transport, form_body, seg
from .images import ImageInput
from .types import (
    AuthDecision,
    AuthenticationSession,
    BatchProcessResult,
    EnrollmentDeleted,
    EnrollmentFrameResult,
    EnrollmentList,
    EnrollmentResult,
    EnrollmentSession,
    Page,
    User,
    WebhookEndpoint,
    WebhookLog,
    WebhookReplay,
)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Default of update fields that may be set to None (``email``): UNSET leaves the field as it is."""


def _fields(**kw: Any) -> Dict[str, Any]:
    """The keyword arguments that were given (None and UNSET dropped)."""
    return {k: v for k, v in kw.items() if v is not None and v is not UNSET}


class Users:
    """``/api/clients/users/…``. Every ``user_id`` is the user's uuid or your ``external_id``."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(
        self,
        external_id: str,
        name: str,
        email: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> User:
        """Creates a user (``external_id`` unique per client). Raises ``USER_EXISTS`` (409) for a duplicate."""
        body = _fields(external_id=external_id, name=name, email=email, metadata=dict(metadata) if metadata is not None else None)
        return cast(User, self._http.request("POST", "/clients/users/", json=body))

    def list(
        self,
        page: Optional[int] = None,
        page_size: Optional[int] = None,
        search: Optional[str] = None,
        is_active: Optional[bool] = None,
        has_enrollment: Optional[bool] = None,
    ) -> Page:
        """A page of users: ``{count, page, page_size, total_pages, results}`` (``page_size`` ≤ 100)."""
        q = _fields(page=page, page_size=page_size, search=search, is_active=is_active, has_enrollment=has_enrollment)
        return cast(Page, self._http.request("GET", "/clients/users/", query=q))

    def get(self, user_id: str) -> User:
        return cast(User, self._http.request("GET", f"/clients/users/{seg(user_id)}/"))

    def update(
        self,
        user_id: str,
        *,
        external_id: Optional[str] = None,
        name: Optional[str] = None,
        email: Optional[str] = UNSET,
        metadata: Optional[Mapping[str, Any]] = None,
        is_active: Optional[bool] = None,
    ) -> User:
        """Replaces the fields given (``metadata`` as a whole); others are kept. ``email=None`` clears the email."""
        body = _fields(external_id=external_id, name=name, metadata=dict(metadata) if metadata is not None else None, is_active=is_active)
        if email is not UNSET:
            body["email"] = email
        return cast(User, self._http.request("PUT", f"/clients/users/{seg(user_id)}/", json=body))

    def delete(self, user_id: str) -> None:
        """Deletes the user and all their face data (right to deletion)."""
        self._http.request("DELETE", f"/clients/users/{seg(user_id)}/")

    def activate(self, user_id: str) -> User:
        return cast(User, self._http.request("POST", f"/clients/users/{seg(user_id)}/activate/"))

    def deactivate(self, user_id: str) -> User:
        """A deactivated user cannot enroll or authenticate; their data is kept."""
        return cast(User, self._http.request("POST", f"/clients/users/{seg(user_id)}/deactivate/"))

    def export(self, user_id: str) -> Dict[str, Any]:
        """Everything held on the user, embeddings included (portability)."""
        return cast(Dict[str, Any], self._http.request("GET", f"/clients/users/{seg(user_id)}/export/"))


def _session(token: str) -> Dict[str, str]:
    if not token:
        raise ValueError("session_token is required")
    return {"X-Session-Token": token}


class Enrollment:
    """``/api/auth/enrollment/…`` and ``/api/auth/enrollments/…``. Images go as multipart files."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(
        self,
        user_id: str,
        session_type: Optional[str] = None,
        quality_threshold: Optional[float] = None,
        require_multiple_angles: Optional[bool] = None,
        timeout: Optional[int] = None,
        auto_capture: Optional[bool] = None,
        guidance_enabled: Optional[bool] = None,
    ) -> EnrollmentSession:
        """Starts a frame session (``session_type`` webcam, mobile or upload; ``timeout`` in seconds, server side).
        Keep ``session_token`` for :meth:`process_frame` and :meth:`complete`."""
        body = _fields(
            user_id=user_id,
            session_type=session_type,
            quality_threshold=quality_threshold,
            require_multiple_angles=require_multiple_angles,
            timeout=timeout,
            auto_capture=auto_capture,
            guidance_enabled=guidance_enabled,
        )
        return cast(EnrollmentSession, self._http.request("POST", "/auth/enrollment/create/", json=body))

    def process_frame(self, session_token: str, frame: ImageInput, frame_metadata: Optional[Mapping[str, Any]] = None) -> EnrollmentFrameResult:
        """Sends one frame (multipart ``frame``, optional ``frame_metadata`` JSON) with ``X-Session-Token``."""
        form = form_body({"frame_metadata": dict(frame_metadata) if frame_metadata is not None else None}, [("frame", frame)])
        return cast(EnrollmentFrameResult, self._http.request("POST", "/auth/enrollment/process-frame/", form=form, headers=_session(session_token)))

    def complete(self, session_token: str) -> EnrollmentResult:
        """Stores the enrollment; ``INSUFFICIENT_QUALITY`` (422) when the session has not enough good frames."""
        return cast(EnrollmentResult, self._http.request("POST", "/auth/enrollment/complete/", headers=_session(session_token)))

    def direct(self, user_id: str, image: ImageInput, quality_threshold: Optional[float] = None) -> EnrollmentResult:
        """Enrolls from one image (multipart ``user_id``, ``image``, ``quality_threshold``)."""
        form = form_body(_fields(user_id=user_id, quality_threshold=quality_threshold), [("image", image)])
        return cast(EnrollmentResult, self._http.request("POST", "/auth/enrollment/direct/", form=form))

    def batch(self, items: Iterable[Tuple[str, ImageInput]], quality_threshold: Optional[float] = None) -> Dict[str, Any]:
        """Enrolls many images at once, ``items`` = ``[(user_id, image), …]``; images of one user become one enrollment.
        Answers ``{total, completed, failed, results[…]}`` (per-item errors are in ``results``, not raised)."""
        pairs = list(items)
        form = form_body(_fields(user_ids=[u for u, _ in pairs], quality_threshold=quality_threshold), [("images", im) for _, im in pairs])
        return cast(Dict[str, Any], self._http.request("POST", "/auth/enrollment/batch/", form=form))

    def list(self, user_id: str) -> EnrollmentList:
        """A user's enrollments: ``{user_id, count, enrollments[…]}``."""
        return cast(EnrollmentList, self._http.request("GET", "/auth/enrollments/", query={"user_id": user_id}))

    def delete(self, enrollment_id: str) -> EnrollmentDeleted:
        """Deletes one enrollment; its templates leave the search at once."""
        return cast(EnrollmentDeleted, self._http.request("DELETE", f"/auth/enrollments/{seg(enrollment_id)}/"))


class Authentication:
    """``/api/auth/authentication/…``. A face that does not match is **not** an exception: the answer has
    ``status == "failed"`` and ``result["failure_reason"]`` (LOW_CONFIDENCE, NO_MATCH, LIVENESS_FAILED, USER_INACTIVE)."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(
        self,
        mode: Optional[str] = None,
        user_id: Optional[str] = None,
        *,
        session_type: Optional[str] = None,
        require_liveness: Optional[bool] = None,
        liveness_threshold: Optional[float] = None,
        liveness_challenges: Optional[Sequence[str]] = None,
        challenge_timeout: Optional[float] = None,
        confidence_threshold: Optional[float] = None,
        search_threshold: Optional[float] = None,
        max_results: Optional[int] = None,
        max_attempts: Optional[int] = None,
        timeout: Optional[int] = None,
    ) -> AuthenticationSession:
        """A verification (1:1, give ``user_id``) or identification (1:N) session. Keep ``session_token``.

        ``session_type`` is webcam, mobile or upload (the server refuses others with VALIDATION_ERROR)."""
        body = _fields(
            mode=mode,
            user_id=user_id,
            session_type=session_type,
            require_liveness=require_liveness,
            liveness_threshold=liveness_threshold,
            liveness_challenges=list(liveness_challenges) if liveness_challenges is not None else None,
            challenge_timeout=challenge_timeout,
            confidence_threshold=confidence_threshold,
            search_threshold=search_threshold,
            max_results=max_results,
            max_attempts=max_attempts,
            timeout=timeout,
        )
        return cast(AuthenticationSession, self._http.request("POST", "/auth/authentication/create/", json=body))

    def process_frame(self, session_token: str, frame: ImageInput, frame_metadata: Optional[Mapping[str, Any]] = None) -> AuthDecision:
        """One frame of a session; ``status`` is processing (liveness running), completed or failed."""
        form = form_body({"frame_metadata": dict(frame_metadata) if frame_metadata is not None else None}, [("frame", frame)])
        return cast(AuthDecision, self._http.request("POST", "/auth/authentication/process-frame/", form=form, headers=_session(session_token)))

    def batch_process(
        self,
        frames: Iterable[ImageInput],
        mode: Optional[str] = None,
        user_id: Optional[str] = None,
        *,
        batch_size: Optional[int] = None,
        parallel_processing: Optional[bool] = None,
        confidence_threshold: Optional[float] = None,
        search_threshold: Optional[float] = None,
        max_results: Optional[int] = None,
    ) -> BatchProcessResult:
        """Verifies (``user_id``) or identifies many frames (≤ 64) in one request (multipart ``frames`` + ``options``)."""
        options = _fields(
            mode=mode,
            user_id=user_id,
            batch_size=batch_size,
            parallel_processing=parallel_processing,
            confidence_threshold=confidence_threshold,
            search_threshold=search_threshold,
            max_results=max_results,
        )
        form = form_body({"options": options}, [("frames", f) for f in frames])
        return cast(BatchProcessResult, self._http.request("POST", "/auth/authentication/batch-process/", form=form))

    def verify(self, user_id: str, image: ImageInput, confidence_threshold: Optional[float] = None) -> AuthDecision:
        """One-shot 1:1 verification: ``result["authenticated"]``, ``result["confidence"]``."""
        form = form_body(_fields(user_id=user_id, confidence_threshold=confidence_threshold), [("image", image)])
        return cast(AuthDecision, self._http.request("POST", "/auth/authentication/verify/", form=form))

    def identify(self, image: ImageInput, search_threshold: Optional[float] = None, max_results: Optional[int] = None) -> AuthDecision:
        """One-shot 1:N identification: ``result["matches"]`` best first."""
        form = form_body(_fields(search_threshold=search_threshold, max_results=max_results), [("image", image)])
        return cast(AuthDecision, self._http.request("POST", "/auth/authentication/identify/", form=form))


class WebhookEndpoints:
    """``/api/webhooks/endpoints/…``."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(
        self,
        url: str,
        events: Sequence[str],
        secret: Optional[str] = None,
        is_active: Optional[bool] = None,
        retry_policy: Optional[Mapping[str, Any]] = None,
    ) -> WebhookEndpoint:
        """Registers an endpoint. Without ``secret`` the server generates one and returns it once as ``"secret"``."""
        body = _fields(url=url, events=list(events), secret=secret, is_active=is_active, retry_policy=dict(retry_policy) if retry_policy is not None else None)
        return cast(WebhookEndpoint, self._http.request("POST", "/webhooks/endpoints/", json=body))

    def list(self, page: Optional[int] = None, page_size: Optional[int] = None) -> Page:
        return cast(Page, self._http.request("GET", "/webhooks/endpoints/", query=_fields(page=page, page_size=page_size)))

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return cast(WebhookEndpoint, self._http.request("GET", f"/webhooks/endpoints/{seg(endpoint_id)}/"))

    def replace(
        self,
        endpoint_id: str,
        url: str,
        events: Sequence[str],
        secret: Optional[str] = None,
        is_active: Optional[bool] = None,
        retry_policy: Optional[Mapping[str, Any]] = None,
    ) -> WebhookEndpoint:
        """PUT: an omitted secret is kept; omitted ``is_active``/``retry_policy`` go back to their defaults."""
        body = _fields(url=url, events=list(events), secret=secret, is_active=is_active, retry_policy=dict(retry_policy) if retry_policy is not None else None)
        return cast(WebhookEndpoint, self._http.request("PUT", f"/webhooks/endpoints/{seg(endpoint_id)}/", json=body))

    def update(
        self,
        endpoint_id: str,
        *,
        url: Optional[str] = None,
        events: Optional[Sequence[str]] = None,
        secret: Optional[str] = None,
        is_active: Optional[bool] = None,
        retry_policy: Optional[Mapping[str, Any]] = None,
    ) -> WebhookEndpoint:
        """PATCH: only the fields given change; ``retry_policy`` fields merge; ``secret`` rotates the secret."""
        body = _fields(
            url=url,
            events=list(events) if events is not None else None,
            secret=secret,
            is_active=is_active,
            retry_policy=dict(retry_policy) if retry_policy is not None else None,
        )
        return cast(WebhookEndpoint, self._http.request("PATCH", f"/webhooks/endpoints/{seg(endpoint_id)}/", json=body))

    def delete(self, endpoint_id: str) -> None:
        """Deletes the endpoint and its delivery logs."""
        self._http.request("DELETE", f"/webhooks/endpoints/{seg(endpoint_id)}/")

    def test(self, endpoint_id: str) -> WebhookLog:
        """Sends a signed ``webhook.test`` ping now; answers the delivery (with ``body``) after its first attempt."""
        return cast(WebhookLog, self._http.request("POST", f"/webhooks/endpoints/{seg(endpoint_id)}/test/"))


class WebhookLogs:
    """``/api/webhooks/logs/…``: deliveries, newest first."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(
        self,
        event_type: Optional[str] = None,
        status: Optional[str] = None,
        endpoint_id: Optional[str] = None,
        start_date: Optional[str] = None,
        end_date: Optional[str] = None,
        page: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> Page:
        """``status`` pending, delivered or failed; dates ``YYYY-MM-DD`` (whole days, UTC) or ISO 8601."""
        q = _fields(event_type=event_type, status=status, endpoint_id=endpoint_id, start_date=start_date, end_date=end_date, page=page, page_size=page_size)
        return cast(Page, self._http.request("GET", "/webhooks/logs/", query=q))

    def get(self, log_id: str) -> WebhookLog:
        """One delivery with ``body``, the JSON object sent."""
        return cast(WebhookLog, self._http.request("GET", f"/webhooks/logs/{seg(log_id)}/"))

    def retry(self, log_id: str) -> WebhookLog:
        """Re-queues a delivery for an immediate attempt with a fresh retry budget (HTTP 202)."""
        return cast(WebhookLog, self._http.request("POST", f"/webhooks/logs/{seg(log_id)}/retry/"))

    def retry_all(
        self,
        endpoint_id: Optional[str] = None,
        event_type: Optional[str] = None,
        start_date: Optional[str] = None,
        end_date: Optional[str] = None,
        status: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> WebhookReplay:
        """Re-queues every matching delivery (``status`` failed by default, or delivered) like :meth:`retry`,
        up to 10000 a call (HTTP 202); call again while ``remaining`` > 0."""
        body = _fields(endpoint_id=endpoint_id, event_type=event_type, start_date=start_date, end_date=end_date, status=status, limit=limit)
        return cast(WebhookReplay, self._http.request("POST", "/webhooks/logs/retry/", json=body))


class Webhooks:
    """``client.webhooks.endpoints`` (CRUD, test ping) and ``client.webhooks.logs`` (deliveries, retry)."""

    def __init__(self, http: Transport) -> None:
        self.endpoints = WebhookEndpoints(http)
        self.logs = WebhookLogs(http)

