"""The client against a real Wajah server with the real face engine.

Needs WAJAH_BASE_URL, WAJAH_API_KEY, WAJAH_SECRET_KEY and WAJAH_TEST_DATA (test/sdk-python/python-client.test.ts
starts a server and sets them; WAJAH_LIMITED_* and WAJAH_SERVER_SIGN* come from there too). Without them these
tests are skipped, or fail when WAJAH_REQUIRE_SERVER=1.
"""
from __future__ import annotations

import base64
import json
import os
import pathlib
import unittest
import uuid
from typing import Any, Callable, List

import _support  # noqa: F401  (puts sdk/python on sys.path)
from _support import LocalServer, Recorded

from face_recognition_api_client import WEBHOOK_EVENTS, Client, FaceRecognitionError, verify_webhook_signature

REQUIRED = ("WAJAH_BASE_URL", "WAJAH_API_KEY", "WAJAH_SECRET_KEY", "WAJAH_TEST_DATA")
FR = "faces_extra/face_recognition"


def setUpModule() -> None:
    missing = [k for k in REQUIRED if not os.environ.get(k)]
    if missing:
        msg = f"no Wajah server to test against (missing {', '.join(missing)}; run test/sdk-python/python-client.test.ts)"
        if os.environ.get("WAJAH_REQUIRE_SERVER") == "1":
            raise RuntimeError(msg)
        raise unittest.SkipTest(msg)


def data(rel: str) -> pathlib.Path:
    return pathlib.Path(os.environ["WAJAH_TEST_DATA"]) / rel


def obama_1() -> pathlib.Path:
    return data(f"{FR}/obama/obama_01.jpg")


def obama_2() -> pathlib.Path:
    return data(f"{FR}/obama/obama_02.jpg")


def biden_1() -> pathlib.Path:
    return data(f"{FR}/biden/biden_01.jpg")


def biden_2() -> pathlib.Path:
    return data(f"{FR}/biden/biden_02.jpg")


class ServerTestCase(unittest.TestCase):
    client: Client

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = Client(os.environ["WAJAH_BASE_URL"], os.environ["WAJAH_API_KEY"], os.environ["WAJAH_SECRET_KEY"], timeout=120)

    def new_user(self, prefix: str, name: str, **kw: Any) -> str:
        """A user with a unique external id, deleted (with all face data) when the test ends."""
        ext = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.client.users.create(ext, name, **kw)
        self.addCleanup(self._delete_quietly, ext)
        return ext

    def _delete_quietly(self, ext: str) -> None:
        try:
            self.client.users.delete(ext)
        except FaceRecognitionError as e:
            if e.code != "USER_NOT_FOUND":
                raise

    def assertRaisesCode(self, code: str, status: int, fn: Callable[[], Any]) -> FaceRecognitionError:
        with self.assertRaises(FaceRecognitionError) as cm:
            fn()
        e = cm.exception
        self.assertEqual((e.code, e.status_code), (code, status), repr(e))
        self.assertTrue(e.message)
        return e


class UsersTest(ServerTestCase):
    def test_status(self) -> None:
        status = self.client.status()
        self.assertIn(status["status"], ("healthy", "degraded"), status)
        self.assertEqual(status["services"]["face_recognition"], "online")

    def test_create_get_list_update_deactivate_export_delete(self) -> None:
        ext = f"EMP-{uuid.uuid4().hex[:8]}"
        created = self.client.users.create(ext, "John Doe", email="john.doe@company.com", metadata={"department": "IT"})
        self.addCleanup(self._delete_quietly, ext)
        self.assertEqual(
            set(created),
            {"id", "external_id", "name", "email", "metadata", "is_active", "created_at", "updated_at", "enrollments_count", "last_authentication"},
        )
        self.assertEqual((created["external_id"], created["is_active"], created["enrollments_count"], created["last_authentication"]), (ext, True, 0, None))
        self.assertEqual(self.client.users.get(created["id"]), created)
        self.assertEqual(self.client.users.get(ext)["id"], created["id"])

        page = self.client.users.list(search="john.doe@company", page_size=10)
        self.assertEqual(set(page), {"count", "page", "page_size", "total_pages", "results"})
        self.assertEqual([u["external_id"] for u in page["results"]], [ext])
        self.assertEqual(page["page_size"], 10)

        updated = self.client.users.update(ext, name="John Q. Doe", metadata={"department": "HR"})
        self.assertEqual((updated["name"], updated["metadata"], updated["email"]), ("John Q. Doe", {"department": "HR"}, "john.doe@company.com"))
        self.assertIsNone(self.client.users.update(ext, email=None)["email"])
        self.assertFalse(self.client.users.deactivate(ext)["is_active"])
        self.assertIn(ext, [u["external_id"] for u in self.client.users.list(is_active=False, page_size=100)["results"]])
        self.assertTrue(self.client.users.activate(ext)["is_active"])

        exported = self.client.users.export(ext)
        for key in ("format", "exported_at", "user", "enrollments", "face_templates", "face_photos", "authentication_attempts", "events", "audit_logs"):
            self.assertIn(key, exported)
        self.assertEqual(exported["user"]["id"], created["id"])

        self.assertIsNone(self.client.users.delete(ext))
        self.assertRaisesCode("USER_NOT_FOUND", 404, lambda: self.client.users.get(ext))

    def test_unknown_user_raises_the_servers_code(self) -> None:
        e = self.assertRaisesCode("USER_NOT_FOUND", 404, lambda: self.client.users.get("nobody-" + uuid.uuid4().hex))
        self.assertIsNone(e.retry_after)
        self.assertRaisesCode("USER_NOT_FOUND", 404, lambda: self.client.authentication.verify("nobody-" + uuid.uuid4().hex, obama_2()))

    def test_bad_key_is_invalid_credentials(self) -> None:
        base = os.environ["WAJAH_BASE_URL"]
        wrong_secret = Client(base, os.environ["WAJAH_API_KEY"], "wsk_wrong")
        self.assertRaisesCode("INVALID_CREDENTIALS", 401, lambda: wrong_secret.users.list())
        wrong_key = Client(base, "wk_unknown", os.environ["WAJAH_SECRET_KEY"])
        self.assertRaisesCode("INVALID_CREDENTIALS", 401, lambda: wrong_key.users.get("x"))

    def test_duplicate_and_validation_errors_with_details(self) -> None:
        ext = self.new_user("DUP", "Dup")
        self.assertRaisesCode("USER_EXISTS", 409, lambda: self.client.users.create(ext, "Dup"))
        e = self.assertRaisesCode("VALIDATION_ERROR", 400, lambda: self.client.users.list(page_size=1000))
        self.assertEqual(e.details["field"], "page_size")

    def test_rate_limit_carries_retry_after(self) -> None:
        key, secret = os.environ.get("WAJAH_LIMITED_API_KEY"), os.environ.get("WAJAH_LIMITED_SECRET_KEY")
        if not key or not secret:
            self.skipTest("WAJAH_LIMITED_API_KEY/SECRET_KEY not set (a tenant with calls_per_hour 1)")
        limited = Client(os.environ["WAJAH_BASE_URL"], key, secret)
        limited.users.list()
        e = self.assertRaisesCode("RATE_LIMIT_EXCEEDED", 429, lambda: limited.users.list())
        self.assertIsNotNone(e.retry_after)
        self.assertTrue(0 < e.retry_after <= 3600, e.retry_after)  # type: ignore[operator]


class FaceFlowsTest(ServerTestCase):
    def test_direct_enrollment_verify_and_identify(self) -> None:
        obama = self.new_user("obama", "Barack Obama", metadata={"team": "A"})
        biden = self.new_user("biden", "Joe Biden")
        enrolled = self.client.enrollment.direct(obama, str(obama_1()), quality_threshold=0.3)  # a path
        self.assertEqual((enrolled["status"], enrolled["user_id"], enrolled["quality_metrics"]["face_count"]), ("completed", obama, 1))
        listed = self.client.enrollment.list(obama)
        self.assertEqual([e["enrollment_id"] for e in listed["enrollments"]], [enrolled["enrollment_id"]])
        self.assertEqual(self.client.users.get(obama)["enrollments_count"], 1)

        with open(obama_2(), "rb") as f:  # a file object
            genuine = self.client.authentication.verify(obama, f)
        self.assertEqual(genuine["status"], "completed", genuine)
        self.assertIs(genuine["result"]["authenticated"], True)
        self.assertEqual(genuine["result"]["user_id"], obama)
        self.assertGreaterEqual(genuine["result"]["confidence"], genuine["result"]["threshold"])
        self.assertIsNotNone(self.client.users.get(obama)["last_authentication"])

        impostor = self.client.authentication.verify(obama, biden_1().read_bytes())  # bytes
        self.assertEqual(impostor["status"], "failed", impostor)
        self.assertIs(impostor["result"]["authenticated"], False)
        self.assertEqual(impostor["result"]["failure_reason"], "LOW_CONFIDENCE")

        found = self.client.authentication.identify(obama_2(), max_results=3)  # a pathlib.Path
        self.assertEqual(found["status"], "completed", found)
        best = found["result"]["matches"][0]
        self.assertEqual((best["user_id"], best["name"], best["metadata"]), (obama, "Barack Obama", {"team": "A"}))
        self.assertNotIn(biden, [m["user_id"] for m in found["result"]["matches"]])

        data_url = "data:image/jpeg;base64," + base64.b64encode(biden_1().read_bytes()).decode()
        nobody = self.client.authentication.identify(data_url)  # a data URL
        self.assertEqual((nobody["status"], nobody["result"]["matches"], nobody["result"]["failure_reason"]), ("failed", [], "NO_MATCH"))

    def test_sessions_batches_and_enrollment_deletion(self) -> None:
        biden = self.new_user("biden", "Joe Biden")
        session = self.client.enrollment.create(biden, session_type="upload", quality_threshold=0.3)
        self.assertEqual((session["status"], session["user_id"], session["requirements"]["required_frames"]), ("active", biden, 1))
        frame = self.client.enrollment.process_frame(session["session_token"], biden_1().read_bytes(), {"device": "python-test"})
        self.assertEqual(frame["status"], "ready", frame)
        self.assertTrue(frame["face_detected"])
        self.assertEqual(frame["progress"]["current"], 1)
        done = self.client.enrollment.complete(session["session_token"])
        self.assertEqual((done["status"], done["user_id"]), ("completed", biden))
        self.assertRaisesCode("SESSION_COMPLETED", 409, lambda: self.client.enrollment.process_frame(session["session_token"], biden_1()))
        self.assertRaisesCode("SESSION_NOT_FOUND", 404, lambda: self.client.enrollment.complete("not-a-real-token"))

        auth = self.client.authentication.create("verification", biden)
        self.assertEqual((auth["mode"], auth["user_id"], auth["status"]), ("verification", biden, "active"))
        decision = self.client.authentication.process_frame(auth["session_token"], biden_2())
        self.assertEqual(decision["status"], "completed", decision)
        self.assertIs(decision["result"]["authenticated"], True)

        ident = self.client.authentication.create("identification", max_results=2)
        decision = self.client.authentication.process_frame(ident["session_token"], biden_2().read_bytes())
        self.assertEqual(decision["result"]["matches"][0]["user_id"], biden)

        batch = self.client.authentication.batch_process([biden_2(), obama_2().read_bytes()], "verification", biden, batch_size=2)
        self.assertEqual((batch["mode"], batch["total"]), ("verification", 2))
        by_index = {r["index"]: r for r in batch["results"]}
        self.assertIs(by_index[0]["result"]["authenticated"], True, batch)
        self.assertIs(by_index[1]["result"]["authenticated"], False, batch)

        removed = self.client.enrollment.delete(done["enrollment_id"])
        self.assertEqual((removed["deleted"], removed["enrollment_id"]), (True, done["enrollment_id"]))
        self.assertGreaterEqual(removed["templates_removed"], 1)
        self.assertEqual(self.client.enrollment.list(biden)["count"], 0)
        self.assertRaisesCode("NOT_ENROLLED", 422, lambda: self.client.authentication.verify(biden, biden_2()))
        self.assertRaisesCode("ENROLLMENT_NOT_FOUND", 404, lambda: self.client.enrollment.delete(done["enrollment_id"]))

    def test_batch_enrollment(self) -> None:
        a = self.new_user("batch-a", "Batch A")
        b = self.new_user("batch-b", "Batch B")
        out = self.client.enrollment.batch([(a, obama_1()), (b, biden_1().read_bytes())], quality_threshold=0.3)
        self.assertEqual((out["total"], out["completed"], out["failed"]), (2, 2, 0), out)
        self.assertEqual(sorted(r["user_id"] for r in out["results"]), sorted([a, b]))
        self.assertEqual(self.client.enrollment.list(a)["count"], 1)


class WebhooksTest(ServerTestCase):
    SECRET = "webhook_secret_key_123_python"

    def setUp(self) -> None:
        self.receiver = LocalServer()
        self.addCleanup(self.receiver.close)

    def delivery(self, event: str, predicate: Callable[[Any], bool] = lambda body: True) -> Recorded:
        return self.receiver.wait_for(lambda r: r.headers.get("x-event-type") == event and predicate(r.json()))

    def test_endpoint_crud_real_signed_deliveries_test_ping_logs_and_retry(self) -> None:
        url = self.receiver.origin + "/webhooks/face-recognition"
        ep = self.client.webhooks.endpoints.create(url, ["user.created", "user.updated"], secret=self.SECRET, retry_policy={"max_retries": 1, "backoff_strategy": "fixed", "retry_delay": 1})
        self.addCleanup(self._delete_endpoint, ep["id"])
        self.assertEqual((ep["url"], ep["events"], ep["is_active"], ep["secret_set"]), (url, ["user.created", "user.updated"], True, True))
        self.assertNotIn("secret", ep, "a secret we chose is never echoed")
        self.assertEqual(ep["retry_policy"], {"max_retries": 1, "backoff_strategy": "fixed", "retry_delay": 1})
        self.assertEqual(self.client.webhooks.endpoints.get(ep["id"]), ep)
        self.assertIn(ep["id"], [e["id"] for e in self.client.webhooks.endpoints.list(page_size=100)["results"]])

        # A real delivery, signed by the server's dispatcher, verified on the exact bytes received.
        ext = self.new_user("hook", "Zoë Ñandú")
        got = self.delivery("user.created", lambda b: b["data"]["user_id"] == ext)
        self.assertTrue(verify_webhook_signature(got.body, got.headers["x-signature"], self.SECRET), got.headers)
        self.assertFalse(verify_webhook_signature(got.body, got.headers["x-signature"], self.SECRET + "-other"))
        self.assertFalse(verify_webhook_signature(got.body.replace(b"Zo", b"Jo"), got.headers["x-signature"], self.SECRET))
        body = got.json()
        self.assertEqual(list(body), ["event", "data", "timestamp", "webhook_id"])
        self.assertEqual((body["event"], body["data"]["name"], body["webhook_id"]), ("user.created", "Zoë Ñandú", ep["id"]))

        # PATCH changes only what is given; PUT resets omitted options.
        patched = self.client.webhooks.endpoints.update(ep["id"], events=["user.updated"], retry_policy={"max_retries": 2})
        self.assertEqual((patched["events"], patched["retry_policy"]["max_retries"], patched["retry_policy"]["backoff_strategy"]), (["user.updated"], 2, "fixed"))
        replaced = self.client.webhooks.endpoints.replace(ep["id"], url, list(WEBHOOK_EVENTS))
        self.assertEqual(replaced["events"], list(WEBHOOK_EVENTS))
        self.assertEqual(replaced["retry_policy"], {"max_retries": 3, "backoff_strategy": "exponential", "retry_delay": 30})

        # The test ping: delivered, signed with the kept secret, listed in the logs, retried on demand.
        ping = self.client.webhooks.endpoints.test(ep["id"])
        self.assertEqual((ping["event_type"], ping["status"], ping["endpoint_id"]), ("webhook.test", "delivered", ep["id"]), ping)
        self.assertEqual(ping["body"]["data"]["endpoint_id"], ep["id"])
        first = self.delivery("webhook.test")
        self.assertEqual(first.headers["x-webhook-id"], ping["id"])
        self.assertTrue(verify_webhook_signature(first.body, first.headers["x-signature"], self.SECRET))

        logs = self.client.webhooks.logs.list(endpoint_id=ep["id"], event_type="webhook.test")
        self.assertEqual([l["id"] for l in logs["results"]], [ping["id"]])
        self.assertEqual(self.client.webhooks.logs.list(endpoint_id=ep["id"], status="failed")["count"], 0)
        detail = self.client.webhooks.logs.get(ping["id"])
        self.assertEqual(detail["body"], json.loads(first.body))

        requeued = self.client.webhooks.logs.retry(ping["id"])
        self.assertEqual((requeued["id"], requeued["attempts"]), (ping["id"], 0))
        again = self.receiver.wait_for(lambda r: r.headers.get("x-webhook-id") == ping["id"] and r is not first)
        self.assertEqual(again.body, first.body)
        self.assertTrue(verify_webhook_signature(again.body, again.headers["x-signature"], self.SECRET))

        self.client.webhooks.endpoints.delete(ep["id"])
        self.assertRaisesCode("WEBHOOK_NOT_FOUND", 404, lambda: self.client.webhooks.endpoints.get(ep["id"]))
        self.assertRaisesCode("WEBHOOK_LOG_NOT_FOUND", 404, lambda: self.client.webhooks.logs.get(ping["id"]))

    def test_generated_secret_is_returned_once_and_signs_deliveries(self) -> None:
        ep = self.client.webhooks.endpoints.create(self.receiver.origin + "/hook", ["user.updated"])
        self.addCleanup(self._delete_endpoint, ep["id"])
        secret = ep["secret"]
        self.assertTrue(secret.startswith("whsec_"))
        self.assertNotIn("secret", self.client.webhooks.endpoints.get(ep["id"]))
        ext = self.new_user("hook2", "Hook Two")
        self.client.users.update(ext, name="Hook Two Renamed")
        got = self.delivery("user.updated", lambda b: b["data"]["user_id"] == ext)
        self.assertTrue(verify_webhook_signature(got.body, got.headers["x-signature"], secret))
        self.assertFalse(verify_webhook_signature(got.body, got.headers["x-signature"], self.SECRET))

    def test_invalid_url_is_refused(self) -> None:
        self.assertRaisesCode("INVALID_WEBHOOK_URL", 400, lambda: self.client.webhooks.endpoints.create("ftp://example.com/x", ["user.created"]))

    def _delete_endpoint(self, endpoint_id: str) -> None:
        try:
            self.client.webhooks.endpoints.delete(endpoint_id)
        except FaceRecognitionError as e:
            if e.code != "WEBHOOK_NOT_FOUND":
                raise


class ServerSignedBodyTest(unittest.TestCase):
    """A body and X-Signature made by the server's own serializer and signer (src/services/webhooks/signer.ts)."""

    def test_verifies_the_servers_signature(self) -> None:
        names = ("WAJAH_SERVER_SIGNED_BODY", "WAJAH_SERVER_SIGNATURE", "WAJAH_SERVER_SIGNING_SECRET")
        if not all(os.environ.get(n) for n in names):
            self.skipTest("run through test/sdk-python/python-client.test.ts")
        body = base64.b64decode(os.environ["WAJAH_SERVER_SIGNED_BODY"])
        header, secret = os.environ["WAJAH_SERVER_SIGNATURE"], os.environ["WAJAH_SERVER_SIGNING_SECRET"]
        self.assertIn("Zoë".encode("utf-8"), body, "the body carries non-ASCII text as UTF-8")
        self.assertTrue(verify_webhook_signature(body, header, secret))
        self.assertTrue(verify_webhook_signature(body.decode("utf-8"), header, secret))
        self.assertFalse(verify_webhook_signature(body[:-1] + b" ", header, secret))
        self.assertFalse(verify_webhook_signature(body, header, secret[:-1]))
        parsed: List[Any] = [json.loads(body)]
        self.assertEqual(parsed[0]["event"], "user.created")


if __name__ == "__main__":
    unittest.main()
