"""The one place requests are made: credentials, JSON, multipart, timeouts and error mapping."""
from __future__ import annotations

import http.client
import json as _json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ._multipart import FilePart, encode_multipart
from .errors import NETWORK_ERROR, TIMEOUT, UNEXPECTED_RESPONSE, FaceRecognitionError, parse_retry_after
from .images import ImageInput, read_image

USER_AGENT = "face-recognition-api-client-python/1.0.0"

Query = Mapping[str, Any]


def api_base(base_url: str) -> str:
    """``http://host:8000`` (no path) means the default base path ``/api``; any other path is kept as given."""
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path or '/api'}"


def seg(value: str) -> str:
    """One path segment: ids may be external ids with any characters."""
    return urllib.parse.quote(str(value), safe="")


def _text(value: Any) -> str:
    """A form/query value as text: booleans as true/false, objects and lists as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return _json.dumps(value, separators=(",", ":"))
    return str(value)


def query_string(query: Optional[Query]) -> str:
    if not query:
        return ""
    pairs = [(k, _text(v)) for k, v in query.items() if v is not None]
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def form_body(fields: Mapping[str, Any], files: Sequence[Tuple[str, ImageInput]]) -> Tuple[bytes, str]:
    """A multipart body from text fields (None skipped; dicts/lists as JSON text) and image inputs."""
    text = [(k, _text(v)) for k, v in fields.items() if v is not None]
    parts: List[FilePart] = []
    for field, image in files:
        data, filename, content_type = read_image(image, field)
        parts.append((field, filename, content_type, data))
    return encode_multipart(text, parts)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """API calls never follow redirects: a redirect would resend the credentials elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class Transport:
    def __init__(self, base_url: str, api_key: str, secret_key: str, timeout: float = 30) -> None:
        if not api_key or not secret_key:
            raise ValueError("api_key and secret_key are required")
        self.base = api_base(base_url)
        self.timeout = timeout
        self._authorization = f"ApiKey {api_key}:{secret_key}"
        self._opener = urllib.request.build_opener(_NoRedirect())

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Query] = None,
        json: Any = None,
        form: Optional[Tuple[bytes, str]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Any:
        """JSON answer of ``method base+path``; None for an empty answer (204). Raises FaceRecognitionError."""
        url = self.base + path + query_string(query)
        h: Dict[str, str] = {"Authorization": self._authorization, "Accept": "application/json", "User-Agent": USER_AGENT}
        body: Optional[bytes] = None
        if form is not None:
            body, h["Content-Type"] = form
        elif json is not None:
            body = _json.dumps(json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        req = urllib.request.Request(url, data=body, headers=h, method=method)
        what = f"{method} {path}"
        try:
            try:
                with self._opener.open(req, timeout=self.timeout) as res:
                    status, raw = res.status, res.read()
            except urllib.error.HTTPError as e:
                raw = e.read() if e.fp is not None else b""
                raise _response_error(e.code, raw, e.headers) from None
        except FaceRecognitionError:
            raise
        except (socket.timeout, TimeoutError) as e:
            raise FaceRecognitionError(TIMEOUT, f"{what}: no answer within {self.timeout} s") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                raise FaceRecognitionError(TIMEOUT, f"{what}: no answer within {self.timeout} s") from e
            raise FaceRecognitionError(NETWORK_ERROR, f"{what}: {e.reason}") from e
        except (OSError, http.client.HTTPException) as e:
            raise FaceRecognitionError(NETWORK_ERROR, f"{what}: {type(e).__name__}: {e}") from e
        if not raw.strip():
            return None
        try:
            return _json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise FaceRecognitionError(UNEXPECTED_RESPONSE, f"{what}: the answer is not JSON", status) from e


def _response_error(status: int, raw: bytes, headers: Any) -> FaceRecognitionError:
    retry_after = parse_retry_after(headers.get("Retry-After") if headers is not None else None)
    try:
        parsed = _json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
        message = parsed.get("message")
        return FaceRecognitionError(
            parsed["code"],
            message if isinstance(message, str) else parsed["code"],
            status,
            parsed.get("details"),
            retry_after,
        )
    snippet = raw[:200].decode("utf-8", "replace")
    return FaceRecognitionError(UNEXPECTED_RESPONSE, f"HTTP {status}: {snippet}", status, None, retry_after)
