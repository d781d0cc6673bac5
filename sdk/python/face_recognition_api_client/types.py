"""Shapes of the API's answers, for type checkers. At run time every answer is a plain ``dict``
(``user["external_id"]``), exactly the JSON the server sent, so fields added by newer servers are kept.
Keys an answer may leave out are declared in a ``total=False`` subclass of the required ones.
``test/sdk-python/python-types.test.ts`` checks every class against the server's OpenAPI document
(keys, required keys and scalar types), so these follow the server's route schemas."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict

#: The webhook events an endpoint can subscribe to (docs/webhooks.md).
WEBHOOK_EVENTS = (
    "enrollment.completed",
    "enrollment.failed",
    "authentication.success",
    "authentication.failed",
    "liveness.failed",
    "user.created",
    "user.updated",
)

#: Liveness challenges of authentication sessions.
LIVENESS_CHALLENGES = ("blink", "head_movement", "turn_left", "turn_right", "nod", "smile")


class Page(TypedDict):
    count: int
    page: int
    page_size: int
    total_pages: int
    results: List[Any]


class User(TypedDict):
    id: str
    external_id: str
    name: str
    email: Optional[str]
    metadata: Dict[str, Any]
    is_active: bool
    created_at: str
    updated_at: str
    enrollments_count: int
    last_authentication: Optional[str]


class QualityMetrics(TypedDict):
    overall_quality: float
    face_count: int
    average_confidence: float
    angles_captured: List[str]


class FaceLocation(TypedDict):
    """Where the face a result is about sits in the picture (pixels of the decoded, EXIF-rotated image)."""

    box: Dict[str, int]
    image_width: int
    image_height: int


class _EnrollmentResult(TypedDict):
    status: str
    enrollment_id: str
    user_id: str
    quality_metrics: QualityMetrics
    created_at: str


class EnrollmentResult(_EnrollmentResult, total=False):
    #: Direct enrollment: which face of the picture was enrolled.
    face: FaceLocation


class EnrollmentSession(TypedDict):
    session_id: str
    session_token: str
    expires_at: str
    status: str
    user_id: str
    session_type: str
    requirements: Dict[str, Any]


class Feedback(TypedDict):
    message: str
    suggestions: List[str]


class Progress(TypedDict):
    current: int
    required: int
    angles_captured: List[str]


class _EnrollmentFrameResult(TypedDict):
    status: str
    quality_score: float
    face_detected: bool
    frame_accepted: bool
    rejection_reason: Optional[str]
    captured: bool
    auto_capture: bool
    angle: Optional[str]
    feedback: Feedback
    progress: Progress


class EnrollmentFrameResult(_EnrollmentFrameResult, total=False):
    #: Absent when no face was found.
    face: FaceLocation


class EnrollmentList(TypedDict):
    user_id: str
    count: int
    enrollments: List[Dict[str, Any]]


class EnrollmentDeleted(TypedDict):
    deleted: bool
    enrollment_id: str
    templates_removed: int


class Match(TypedDict):
    user_id: str
    confidence: float
    name: str
    metadata: Dict[str, Any]


class _AuthResult(TypedDict):
    liveness_score: Optional[float]
    quality_score: float
    threshold: float


class AuthResult(_AuthResult, total=False):
    #: Verification only.
    authenticated: bool
    confidence: Optional[float]
    user_id: Optional[str]
    user_name: Optional[str]
    #: Identification only: best first.
    matches: List[Match]
    failure_reason: str


class _AuthDecision(TypedDict):
    status: str
    processing_time: float
    timestamp: str


class AuthDecision(_AuthDecision, total=False):
    result: AuthResult
    liveness_result: Dict[str, Any]
    liveness: Dict[str, Any]
    face_detected: bool
    feedback: Feedback
    quality_score: float
    attempts_remaining: int
    #: One-shot verify/identify: the face the decision was taken on.
    face: FaceLocation


class _AuthenticationSession(TypedDict):
    session_id: str
    session_token: str
    expires_at: str
    status: str
    mode: str
    user_id: Optional[str]
    require_liveness: bool
    settings: Dict[str, Any]


class AuthenticationSession(_AuthenticationSession, total=False):
    liveness: Dict[str, Any]


class BatchProcessResult(TypedDict):
    mode: str
    total: int
    succeeded: int
    failed: int
    processing_time: float
    results: List[Dict[str, Any]]


class RetryPolicy(TypedDict):
    max_retries: int
    backoff_strategy: str
    retry_delay: float


class _WebhookEndpoint(TypedDict):
    id: str
    url: str
    events: List[str]
    is_active: bool
    retry_policy: RetryPolicy
    secret_set: bool
    created_at: str
    updated_at: str


class WebhookEndpoint(_WebhookEndpoint, total=False):
    #: Only in the creation answer, when the server generated the secret.
    secret: str


class WebhookLog(TypedDict):
    id: str
    endpoint_id: str
    url: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: Optional[str]
    last_status_code: Optional[int]
    last_error: Optional[str]
    response_ms: Optional[float]
    created_at: str
    delivered_at: Optional[str]
    body: Optional[Dict[str, Any]]


class WebhookReplay(TypedDict):
    retried: int
    #: Matching deliveries over the limit: call again while > 0.
    remaining: int
    skipped_in_progress: int
    skipped_endpoint_inactive: int
    skipped_event_gone: int
    limit: int
    #: The filters applied: status, endpoint_id, event_type, created_from, created_before.
    filters: Dict[str, Any]


class Status(TypedDict):
    status: str
    version: str
    timestamp: str
    services: Dict[str, str]
