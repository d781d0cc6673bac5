"""Unit tests that need no Wajah server: signatures, multipart, images, the transport against local fake servers,
errors, and the package itself (standard library only, Python 3.9 syntax)."""
from __future__ import annotations

import ast
import base64
import email.parser
import email.policy
import hashlib
import hmac
import inspect
import io
import json
import os
import pathlib
import re
import tempfile
import time
import unittest
from email.utils import formatdate
from typing import Any, Dict, List, Tuple
from unittest import mock

import _support  # noqa: F401  (puts sdk/python on sys.path)
from _support import LocalServer, Recorded, SilentServer, closed_port

import face_recognition_api_client as sdk
from face_recognition_api_client import Client, FaceRecognitionError, sign_webhook_payload, verify_webhook_signature
from face_recognition_api_client import signature as signature_module
from face_recognition_api_client._http import api_base
from face_recognition_api_client._multipart import encode_multipart
from face_recognition_api_client.errors import parse_retry_after
from face_recognition_api_client.images import read_image, sniff_content_type

PKG_DIR = pathlib.Path(sdk.__file__).parent
SDK_ROOT = PKG_DIR.parent

JPEG = b"\xff\xd8\xff\xe0" + b"\x00JFIF" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8


def parse_multipart(body: bytes, content_type: str) -> List[Tuple[str, Any, str, bytes]]:
    """(name, filename, content type, bytes) of each part, parsed by the standard library's MIME parser."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    assert msg.is_multipart(), "not a multipart body"
    return [
        (p.get_param("name", header="content-disposition"), p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
        for p in msg.iter_parts()
    ]


# --------------------------------------------------------------------------------------------- signature
class WebhookSignatureTest(unittest.TestCase):
    BODY = b'{"event":"user.created","data":{"user_id":"EMP001"},"timestamp":"2024-01-01T12:00:00.000Z","webhook_id":"w"}'
    SECRET = "webhook_secret_key_123"

    def test_known_vector(self) -> None:
        # HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a published test vector.
        sig = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        self.assertEqual(sign_webhook_payload(b"The quick brown fox jumps over the lazy dog", "key"), sig)
        self.assertTrue(verify_webhook_signature(b"The quick brown fox jumps over the lazy dog", sig, "key"))

    def test_accepts_own_signature_and_rejects_changes(self) -> None:
        sig = "sha256=" + hmac.new(self.SECRET.encode(), self.BODY, hashlib.sha256).hexdigest()
        self.assertEqual(sign_webhook_payload(self.BODY, self.SECRET), sig)
        self.assertTrue(verify_webhook_signature(self.BODY, sig, self.SECRET))
        self.assertTrue(verify_webhook_signature(bytearray(self.BODY), sig, self.SECRET))
        self.assertTrue(verify_webhook_signature(memoryview(self.BODY), " " + sig + "\r\n", self.SECRET))
        self.assertTrue(verify_webhook_signature(self.BODY.decode(), sig, self.SECRET), "str bodies are UTF-8 encoded")
        self.assertTrue(verify_webhook_signature(self.BODY, [sig], self.SECRET), "one header value in a list")
        self.assertFalse(verify_webhook_signature(self.BODY + b" ", sig, self.SECRET), "tampered body")
        self.assertFalse(verify_webhook_signature(self.BODY.replace(b"EMP001", b"EMP002"), sig, self.SECRET))
        self.assertFalse(verify_webhook_signature(self.BODY, sig, self.SECRET + "x"), "wrong secret")
        flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        self.assertFalse(verify_webhook_signature(self.BODY, flipped, self.SECRET))

    def test_malformed_headers_are_false_not_errors(self) -> None:
        sig = sign_webhook_payload(self.BODY, self.SECRET)
        hexpart = sig[len("sha256="):]
        for bad in [None, "", hexpart, "sha1=" + hexpart, "sha256=" + hexpart.upper(), "sha256=" + hexpart[:-2], sig + "00", "sha256=zz" + hexpart[2:], [sig, sig], [], 42]:
            with self.subTest(header=bad):
                self.assertFalse(verify_webhook_signature(self.BODY, bad, self.SECRET))  # type: ignore[arg-type]
        self.assertFalse(verify_webhook_signature(self.BODY, sign_webhook_payload(self.BODY, ""), ""), "an empty secret never verifies")
        with self.assertRaises(TypeError):
            verify_webhook_signature({"event": "x"}, sig, self.SECRET)  # type: ignore[arg-type]

    def test_compares_in_constant_time(self) -> None:
        sig = sign_webhook_payload(self.BODY, self.SECRET)
        with mock.patch.object(signature_module.hmac, "compare_digest", wraps=hmac.compare_digest) as spy:
            self.assertTrue(verify_webhook_signature(self.BODY, sig, self.SECRET))
            self.assertFalse(verify_webhook_signature(self.BODY, sig, "other-secret-1234567"))
        self.assertEqual(spy.call_count, 2)

    def test_the_guides_body_shape_round_trip(self) -> None:
        # The guide's receivers parse and re-serialize; the raw bytes are what must be verified.
        body = json.dumps({"event": "authentication.success", "data": {"user_name": "Zoë"}, "timestamp": "t", "webhook_id": "w"}, separators=(",", ":"), ensure_ascii=False).encode()
        sig = sign_webhook_payload(body, self.SECRET)
        self.assertTrue(verify_webhook_signature(body, sig, self.SECRET))
        self.assertFalse(verify_webhook_signature(json.dumps(json.loads(body)).encode(), sig, self.SECRET), "re-serialized with other spacing")


# --------------------------------------------------------------------------------------------- multipart
class MultipartTest(unittest.TestCase):
    def test_fields_and_files_round_trip_through_a_mime_parser(self) -> None:
        body, ctype = encode_multipart(
            [("user_id", "EMP 001/ü"), ("quality_threshold", "0.6"), ("options", '{"mode":"verification"}')],
            [("image", "face.jpg", "image/jpeg", JPEG), ("frames", "b.png", "image/png", PNG)],
        )
        self.assertRegex(ctype, r"^multipart/form-data; boundary=[A-Za-z0-9_-]{20,}$")
        parts = parse_multipart(body, ctype)
        self.assertEqual(
            parts,
            [
                ("user_id", None, "text/plain", "EMP 001/ü".encode()),
                ("quality_threshold", None, "text/plain", b"0.6"),
                ("options", None, "text/plain", b'{"mode":"verification"}'),
                ("image", "face.jpg", "image/jpeg", JPEG),
                ("frames", "b.png", "image/png", PNG),
            ],
        )
        self.assertTrue(body.endswith(b"--\r\n"))

    def test_boundaries_are_fresh_and_never_inside_the_data(self) -> None:
        _, a = encode_multipart({}, [("f", "f", "image/jpeg", JPEG)])
        _, b = encode_multipart({}, [("f", "f", "image/jpeg", JPEG)])
        self.assertNotEqual(a, b)
        body, ctype = encode_multipart({}, [("f", "f.jpg", "image/jpeg", b"--X\r\n--X--")], boundary=None)
        self.assertEqual(parse_multipart(body, ctype)[0][3], b"--X\r\n--X--")

    def test_quotes_and_newlines_in_names_cannot_break_the_header(self) -> None:
        body, ctype = encode_multipart([], [("image", 'evil".jpg\r\nX-Injected: 1', "image/jpeg", JPEG)])
        self.assertNotIn(b"\r\nX-Injected", body)
        self.assertIn(b'filename="evil%22.jpg%0D%0AX-Injected: 1"', body)
        self.assertEqual(parse_multipart(body, ctype)[0][3], JPEG)


# ------------------------------------------------------------------------------------------------ images
class ImageInputTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "probe.jpg")
        with open(self.path, "wb") as f:
            f.write(JPEG)

    def tearDown(self) -> None:
        self.dir.cleanup()

    def test_bytes_path_pathlike_file_object_and_data_url(self) -> None:
        self.assertEqual(read_image(JPEG, "image"), (JPEG, "image.jpg", "image/jpeg"))
        self.assertEqual(read_image(bytearray(PNG), "frame"), (PNG, "frame.png", "image/png"))
        self.assertEqual(read_image(memoryview(WEBP), "frames"), (WEBP, "frames.webp", "image/webp"))
        self.assertEqual(read_image(self.path, "image"), (JPEG, "probe.jpg", "image/jpeg"))
        self.assertEqual(read_image(pathlib.Path(self.path), "image"), (JPEG, "probe.jpg", "image/jpeg"))
        with open(self.path, "rb") as f:
            self.assertEqual(read_image(f, "image"), (JPEG, "probe.jpg", "image/jpeg"))
        self.assertEqual(read_image(io.BytesIO(PNG), "image"), (PNG, "image.png", "image/png"))
        url = "data:image/png;base64," + base64.b64encode(PNG).decode()
        self.assertEqual(read_image(url, "image"), (PNG, "image.png", "image/png"))
        self.assertEqual(read_image(b"GIF89a....", "image")[2], "application/octet-stream")

    def test_bad_inputs(self) -> None:
        with self.assertRaises(ValueError):
            read_image(b"", "image")
        with self.assertRaises(TypeError):
            read_image(12, "image")  # type: ignore[arg-type]
        with self.assertRaises(ValueError):
            read_image("data:image/png,rawtext", "image")
        with open(self.path, "r", encoding="latin-1") as text_mode:
            with self.assertRaises(TypeError):
                read_image(text_mode, "image")  # type: ignore[arg-type]
        with self.assertRaises(OSError):
            read_image(os.path.join(self.dir.name, "missing.jpg"), "image")

    def test_sniffing(self) -> None:
        self.assertEqual(sniff_content_type(JPEG), "image/jpeg")
        self.assertEqual(sniff_content_type(PNG), "image/png")
        self.assertEqual(sniff_content_type(WEBP), "image/webp")
        self.assertEqual(sniff_content_type(b"RIFF\x00\x00\x00\x00WAVE"), "application/octet-stream")


# ------------------------------------------------------------------------------------- transport, errors
def json_reply(status: int, body: Any, headers: Dict[str, str] = {}) -> Tuple[int, Dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


class TransportTest(unittest.TestCase):
    """The client against a local fake API: what goes on the wire and how answers map to results and errors."""

    def setUp(self) -> None:
        self.replies: List[Tuple[int, Dict[str, str], bytes]] = []
        self.server = LocalServer(lambda r: self.replies.pop(0) if self.replies else json_reply(200, {"ok": True}))
        self.client = Client(self.server.origin + "/api", "wk_test", "wsk_secret", timeout=5)

    def tearDown(self) -> None:
        self.server.close()

    def last(self) -> Recorded:
        return self.server.requests[-1]

    def test_credentials_header_and_base_url(self) -> None:
        self.client.status()
        self.assertEqual(self.last().headers["authorization"], "ApiKey wk_test:wsk_secret")
        self.assertEqual(self.last().path, "/api/core/status/")
        Client(self.server.origin, "k", "s").users.get("EMP001")
        self.assertEqual(self.last().path, "/api/clients/users/EMP001/", "a bare origin means /api")
        self.assertEqual(api_base("https://faces.example.com/v1/api/"), "https://faces.example.com/v1/api")
        with self.assertRaises(ValueError):
            Client("localhost:8000", "k", "s")
        with self.assertRaises(ValueError):
            Client("http://localhost:8000", "", "s")
        self.assertNotIn("wsk_secret", repr(self.client))

    def test_users_routes_bodies_and_queries(self) -> None:
        c = self.client
        c.users.create("EMP001", "John Doe", email="john@x.io", metadata={"department": "IT"})
        self.assertEqual((self.last().method, self.last().path), ("POST", "/api/clients/users/"))
        self.assertEqual(self.last().headers["content-type"], "application/json")
        self.assertEqual(self.last().json(), {"external_id": "EMP001", "name": "John Doe", "email": "john@x.io", "metadata": {"department": "IT"}})
        c.users.list(page=2, page_size=20, search="jo hn", is_active=False, has_enrollment=True)
        self.assertEqual(self.last().path, "/api/clients/users/?page=2&page_size=20&search=jo+hn&is_active=false&has_enrollment=true")
        c.users.update("a/b c", name="New")
        self.assertEqual((self.last().method, self.last().path, self.last().json()), ("PUT", "/api/clients/users/a%2Fb%20c/", {"name": "New"}))
        c.users.update("EMP001", email=None)
        self.assertEqual(self.last().json(), {"email": None}, "email=None clears the email")
        for call, method, path in [
            (lambda: c.users.activate("E1"), "POST", "/api/clients/users/E1/activate/"),
            (lambda: c.users.deactivate("E1"), "POST", "/api/clients/users/E1/deactivate/"),
            (lambda: c.users.export("E1"), "GET", "/api/clients/users/E1/export/"),
            (lambda: c.users.get("E1"), "GET", "/api/clients/users/E1/"),
        ]:
            call()
            self.assertEqual((self.last().method, self.last().path), (method, path))
        self.replies.append((204, {}, b""))
        self.assertIsNone(c.users.delete("E1"))
        self.assertEqual((self.last().method, self.last().path), ("DELETE", "/api/clients/users/E1/"))

    def test_face_routes_send_multipart_with_the_documented_fields(self) -> None:
        c = self.client
        c.enrollment.direct("EMP001", JPEG, quality_threshold=0.6)
        r = self.last()
        self.assertEqual(r.path, "/api/auth/enrollment/direct/")
        self.assertEqual(
            parse_multipart(r.body, r.headers["content-type"]),
            [("user_id", None, "text/plain", b"EMP001"), ("quality_threshold", None, "text/plain", b"0.6"), ("image", "image.jpg", "image/jpeg", JPEG)],
        )
        c.enrollment.process_frame("tok-1", io.BytesIO(PNG), {"device": "cam"})
        r = self.last()
        self.assertEqual((r.path, r.headers["x-session-token"]), ("/api/auth/enrollment/process-frame/", "tok-1"))
        self.assertEqual(parse_multipart(r.body, r.headers["content-type"]), [("frame_metadata", None, "text/plain", b'{"device":"cam"}'), ("frame", "frame.png", "image/png", PNG)])
        c.enrollment.complete("tok-1")
        self.assertEqual((self.last().path, self.last().headers["x-session-token"], self.last().body), ("/api/auth/enrollment/complete/", "tok-1", b""))
        c.enrollment.create("EMP001", session_type="upload", quality_threshold=0.5, require_multiple_angles=True, timeout=60)
        self.assertEqual(self.last().json(), {"user_id": "EMP001", "session_type": "upload", "quality_threshold": 0.5, "require_multiple_angles": True, "timeout": 60})
        c.enrollment.batch([("A", JPEG), ("B", PNG)], quality_threshold=0.4)
        r = self.last()
        self.assertEqual(
            parse_multipart(r.body, r.headers["content-type"]),
            [("user_ids", None, "text/plain", b'["A","B"]'), ("quality_threshold", None, "text/plain", b"0.4"), ("images", "images.jpg", "image/jpeg", JPEG), ("images", "images.png", "image/png", PNG)],
        )
        c.enrollment.list("EMP 1")
        self.assertEqual(self.last().path, "/api/auth/enrollments/?user_id=EMP+1")
        c.enrollment.delete("e-1")
        self.assertEqual((self.last().method, self.last().path), ("DELETE", "/api/auth/enrollments/e-1/"))

        c.authentication.create("verification", "EMP001", require_liveness=True, liveness_challenges=("blink",), confidence_threshold=0.9)
        self.assertEqual(self.last().json(), {"mode": "verification", "user_id": "EMP001", "require_liveness": True, "liveness_challenges": ["blink"], "confidence_threshold": 0.9})
        c.authentication.process_frame("tok-2", JPEG)
        r = self.last()
        self.assertEqual((r.path, r.headers["x-session-token"]), ("/api/auth/authentication/process-frame/", "tok-2"))
        self.assertEqual([p[0] for p in parse_multipart(r.body, r.headers["content-type"])], ["frame"])
        c.authentication.verify("EMP001", JPEG, confidence_threshold=0.85)
        r = self.last()
        self.assertEqual(r.path, "/api/auth/authentication/verify/")
        self.assertEqual([(p[0], p[3]) for p in parse_multipart(r.body, r.headers["content-type"])], [("user_id", b"EMP001"), ("confidence_threshold", b"0.85"), ("image", JPEG)])
        c.authentication.identify(JPEG, max_results=3)
        r = self.last()
        self.assertEqual([(p[0], p[3]) for p in parse_multipart(r.body, r.headers["content-type"])], [("max_results", b"3"), ("image", JPEG)])
        c.authentication.batch_process([JPEG, PNG], "verification", "EMP001", batch_size=2, parallel_processing=False)
        r = self.last()
        parts = parse_multipart(r.body, r.headers["content-type"])
        self.assertEqual(r.path, "/api/auth/authentication/batch-process/")
        self.assertEqual(json.loads(parts[0][3]), {"mode": "verification", "user_id": "EMP001", "batch_size": 2, "parallel_processing": False})
        self.assertEqual([(p[0], p[3]) for p in parts[1:]], [("frames", JPEG), ("frames", PNG)])

    def test_webhook_routes(self) -> None:
        w = self.client.webhooks
        w.endpoints.create("https://app.example/hook", ["user.created"], secret="s" * 16, retry_policy={"max_retries": 1})
        self.assertEqual((self.last().path, self.last().json()), ("/api/webhooks/endpoints/", {"url": "https://app.example/hook", "events": ["user.created"], "secret": "s" * 16, "retry_policy": {"max_retries": 1}}))
        w.endpoints.update("ep1", is_active=False)
        self.assertEqual((self.last().method, self.last().path, self.last().json()), ("PATCH", "/api/webhooks/endpoints/ep1/", {"is_active": False}))
        w.endpoints.replace("ep1", "https://app.example/h2", ["user.updated"])
        self.assertEqual((self.last().method, self.last().json()), ("PUT", {"url": "https://app.example/h2", "events": ["user.updated"]}))
        w.endpoints.test("ep1")
        self.assertEqual((self.last().method, self.last().path), ("POST", "/api/webhooks/endpoints/ep1/test/"))
        w.endpoints.list(page_size=5)
        self.assertEqual(self.last().path, "/api/webhooks/endpoints/?page_size=5")
        w.logs.list(status="failed", endpoint_id="ep1", start_date="2024-01-01")
        self.assertEqual(self.last().path, "/api/webhooks/logs/?status=failed&endpoint_id=ep1&start_date=2024-01-01")
        w.logs.get("l1")
        self.assertEqual(self.last().path, "/api/webhooks/logs/l1/")
        self.replies.append(json_reply(202, {"id": "l1", "status": "pending"}))
        self.assertEqual(w.logs.retry("l1"), {"id": "l1", "status": "pending"})
        self.assertEqual((self.last().method, self.last().path), ("POST", "/api/webhooks/logs/l1/retry/"))
        self.replies.append(json_reply(202, {"retried": 2, "remaining": 0}))
        self.assertEqual(w.logs.retry_all(endpoint_id="ep1", start_date="2024-01-06"), {"retried": 2, "remaining": 0})
        self.assertEqual((self.last().method, self.last().path, self.last().json()), ("POST", "/api/webhooks/logs/retry/", {"endpoint_id": "ep1", "start_date": "2024-01-06"}))
        self.replies.append(json_reply(202, {"retried": 0, "remaining": 0}))
        w.logs.retry_all()
        self.assertEqual(self.last().json(), {})
        self.replies.append((204, {}, b""))
        self.assertIsNone(w.endpoints.delete("ep1"))

    def test_api_errors_keep_code_message_status_details_and_retry_after(self) -> None:
        self.replies.append(json_reply(429, {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many", "statusCode": 429, "details": {"limit": 1}}, {"Retry-After": "120"}))
        with self.assertRaises(FaceRecognitionError) as cm:
            self.client.users.list()
        e = cm.exception
        self.assertEqual((e.code, e.message, e.status_code, e.details, e.retry_after), ("RATE_LIMIT_EXCEEDED", "Too many", 429, {"limit": 1}, 120.0))
        self.assertIn("RATE_LIMIT_EXCEEDED", str(e))
        self.assertIn("retry_after=120.0", repr(e))
        self.replies.append(json_reply(404, {"code": "USER_NOT_FOUND", "message": "User not found", "statusCode": 404}))
        with self.assertRaises(FaceRecognitionError) as cm:
            self.client.users.get("x")
        self.assertEqual((cm.exception.code, cm.exception.status_code, cm.exception.details, cm.exception.retry_after), ("USER_NOT_FOUND", 404, None, None))

    def test_answers_without_the_api_shape(self) -> None:
        self.replies.append((502, {"Content-Type": "text/html"}, b"<html>Bad gateway</html>"))
        with self.assertRaises(FaceRecognitionError) as cm:
            self.client.status()
        self.assertEqual((cm.exception.code, cm.exception.status_code), (sdk.UNEXPECTED_RESPONSE, 502))
        self.assertIn("Bad gateway", cm.exception.message)
        self.replies.append((200, {"Content-Type": "text/plain"}, b"hello"))
        with self.assertRaises(FaceRecognitionError) as cm:
            self.client.status()
        self.assertEqual((cm.exception.code, cm.exception.status_code), (sdk.UNEXPECTED_RESPONSE, 200))

    def test_redirects_are_not_followed_with_the_credentials(self) -> None:
        other = LocalServer()
        try:
            self.replies.append((302, {"Location": other.origin + "/steal"}, b""))
            with self.assertRaises(FaceRecognitionError) as cm:
                self.client.users.list()
            self.assertEqual((cm.exception.code, cm.exception.status_code), (sdk.UNEXPECTED_RESPONSE, 302))
            self.assertEqual(other.requests, [])
        finally:
            other.close()

    def test_network_error_and_timeout_have_their_own_codes(self) -> None:
        dead = Client(f"http://127.0.0.1:{closed_port()}/api", "k", "s", timeout=5)
        with self.assertRaises(FaceRecognitionError) as cm:
            dead.status()
        self.assertEqual((cm.exception.code, cm.exception.status_code, cm.exception.retry_after), (sdk.NETWORK_ERROR, 0, None))

        silent = SilentServer()
        try:
            slow = Client(f"http://127.0.0.1:{silent.port}/api", "k", "s", timeout=0.3)
            start = time.monotonic()
            with self.assertRaises(FaceRecognitionError) as cm:
                slow.users.list()
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual((cm.exception.code, cm.exception.status_code), (sdk.TIMEOUT, 0))
            self.assertEqual(sdk.CLIENT_ERROR_CODES, ("NETWORK_ERROR", "TIMEOUT", "UNEXPECTED_RESPONSE"))
        finally:
            silent.close()

    def test_retry_after_parsing(self) -> None:
        self.assertEqual(parse_retry_after("30"), 30.0)
        self.assertEqual(parse_retry_after(" 1.5 "), 1.5)
        self.assertEqual(parse_retry_after("-4"), 0.0)
        self.assertIsNone(parse_retry_after(None))
        self.assertIsNone(parse_retry_after("soon"))
        now = 1_700_000_000.0
        self.assertEqual(parse_retry_after(formatdate(now + 90, usegmt=True), now=now), 90.0)
        self.assertEqual(parse_retry_after(formatdate(now - 90, usegmt=True), now=now), 0.0)


# ---------------------------------------------------------------------------------------------- package
STDLIB_ALLOWED = {
    "__future__", "base64", "binascii", "email", "hashlib", "hmac", "http", "json", "math", "os", "re", "socket",
    "sys", "time", "typing", "urllib", "uuid",
}


class PackageTest(unittest.TestCase):
    def sources(self) -> Dict[str, str]:
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(PKG_DIR.glob("*.py"))}

    def test_standard_library_only(self) -> None:
        for name, src in self.sources().items():
            for node in ast.walk(ast.parse(src)):
                mods: List[str] = []
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    mods = [node.module or ""]
                for m in mods:
                    self.assertIn(m.split(".")[0], STDLIB_ALLOWED, f"{name} imports {m}")

    def test_python_3_9_syntax(self) -> None:
        for name, src in self.sources().items():
            with self.subTest(module=name):
                ast.parse(src, filename=name, feature_version=(3, 9))

    def test_pyproject_names_and_no_dependencies(self) -> None:
        text = (SDK_ROOT / "pyproject.toml").read_text(encoding="utf-8")
        self.assertRegex(text, r'(?m)^name = "face-recognition-api-client"$')
        self.assertRegex(text, r'(?m)^requires-python = ">=3.9"$')
        self.assertRegex(text, r"(?m)^dependencies = \[\]$")
        self.assertRegex(text, r'(?m)^build-backend = "setuptools.build_meta"$')
        self.assertRegex(text, r'packages = \["face_recognition_api_client"\]')
        self.assertTrue((PKG_DIR / "py.typed").exists())
        m = re.search(r'(?m)^version = "([^"]+)"$', text)
        self.assertIsNotNone(m)
        self.assertEqual(sdk.__version__, m.group(1) if m else None)

    def test_public_api(self) -> None:
        for name in ["Client", "FaceRecognitionError", "verify_webhook_signature", "sign_webhook_payload", "WEBHOOK_EVENTS", "NETWORK_ERROR", "TIMEOUT"]:
            self.assertIn(name, sdk.__all__)
        c = Client("http://127.0.0.1:9/api", "k", "s")
        for group, methods in {
            "users": ["create", "list", "get", "update", "delete", "activate", "deactivate", "export"],
            "enrollment": ["create", "process_frame", "complete", "direct", "batch", "list", "delete"],
            "authentication": ["create", "process_frame", "batch_process", "verify", "identify"],
        }.items():
            for m in methods:
                self.assertTrue(callable(getattr(getattr(c, group), m)), f"client.{group}.{m}")
        for m in ["create", "list", "get", "replace", "update", "delete", "test"]:
            self.assertTrue(callable(getattr(c.webhooks.endpoints, m)), f"client.webhooks.endpoints.{m}")
        for m in ["list", "get", "retry"]:
            self.assertTrue(callable(getattr(c.webhooks.logs, m)), f"client.webhooks.logs.{m}")
        self.assertEqual(c.timeout, 30)

    def test_readme_examples_parse_and_name_real_methods(self) -> None:
        text = (SDK_ROOT / "README.md").read_text(encoding="utf-8")
        self.assertIn("pip install face-recognition-api-client", text)
        blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
        self.assertGreaterEqual(len(blocks), 6)
        c = Client("http://127.0.0.1:9/api", "k", "s")
        calls = 0
        for block in blocks:
            tree = ast.parse(block, feature_version=(3, 9))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "face_recognition_api_client":
                    for alias in node.names:
                        self.assertTrue(hasattr(sdk, alias.name), f"README imports {alias.name}")
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    chain: List[str] = []
                    target: ast.expr = node.func
                    while isinstance(target, ast.Attribute):
                        chain.insert(0, target.attr)
                        target = target.value
                    if isinstance(target, ast.Name) and target.id == "client":
                        obj: Any = c
                        for attr in chain:
                            self.assertTrue(hasattr(obj, attr), f"README calls client.{'.'.join(chain)}")
                            obj = getattr(obj, attr)
                        # The arguments fit the method's signature (names of keywords, count of positionals).
                        inspect.signature(obj).bind(*node.args, **{k.arg: k.value for k in node.keywords if k.arg})
                        calls += 1
        self.assertGreaterEqual(calls, 30)


if __name__ == "__main__":
    unittest.main()
