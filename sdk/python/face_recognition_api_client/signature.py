"""Webhook signatures: ``X-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`` keyed with the endpoint secret."""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Optional, Sequence, Union

_SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")  # exactly what the server sends: lowercase hex

RawBody = Union[bytes, bytearray, memoryview, str]


def _bytes(body: RawBody) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"raw_body must be bytes (the request body as received), got {type(body).__name__}")


def sign_webhook_payload(raw_body: RawBody, secret: str) -> str:
    """The ``X-Signature`` value the server sends for this body and secret (to test your receiver)."""
    mac = hmac.new(secret.encode("utf-8"), _bytes(raw_body), hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_webhook_signature(
    raw_body: RawBody,
    signature_header: Union[str, Sequence[str], None],
    secret: str,
) -> bool:
    """True when ``signature_header`` (the ``X-Signature`` header) signs ``raw_body`` with ``secret``.

    Pass the body **exactly as received** (``request.body`` / ``request.get_data()``), not re-serialized
    JSON. The comparison is constant-time (``hmac.compare_digest``). A missing or malformed header, an
    empty secret or a header given several times answers False; it never raises for those.

    Example (Flask)::

        @app.post("/webhooks/face-recognition")
        def hook():
            if not verify_webhook_signature(request.get_data(), request.headers.get("X-Signature"), SECRET):
                abort(401)
            event = request.get_json()
    """
    header: Optional[str]
    if isinstance(signature_header, (list, tuple)):
        header = signature_header[0] if len(signature_header) == 1 else None
    else:
        header = signature_header if isinstance(signature_header, str) else None
    if header is None or not isinstance(secret, str) or not secret:
        return False
    m = _SIGNATURE.fullmatch(header.strip())
    if not m:
        return False
    expected = hmac.new(secret.encode("utf-8"), _bytes(raw_body), hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(m.group(1)))
