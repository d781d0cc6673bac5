package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FaceFlowsTest extends ServerTestBase {
    @Test
    void directEnrollmentVerifyAndIdentify() throws Exception {
        String obama = newUser("obama", "Barack Obama", Map.of("metadata", Map.of("team", "A")));
        String biden = newUser("biden", "Joe Biden", Map.of());
        EnrollmentResult enrolled = client.enrollment().direct(obama, Image.fromPath(photo("obama", 1)), Map.of("quality_threshold", 0.3));
        assertEquals(List.of("completed", obama, 1L), List.of(enrolled.status(), enrolled.userId(), enrolled.qualityMetrics().integer("face_count")));
        assertEquals(List.of(enrolled.enrollmentId()), client.enrollment().list(obama).objects("enrollments").stream().map(e -> e.string("enrollment_id")).toList());

        AuthDecision genuine = client.authentication().verify(obama, Image.fromBytes(Files.readAllBytes(photo("obama", 2))), Map.of());
        assertEquals("completed", genuine.status(), genuine.raw().toString());
        assertTrue(genuine.authenticated());
        assertEquals(obama, genuine.result().userId());
        assertTrue(genuine.result().confidence() >= genuine.result().threshold());

        AuthDecision impostor = client.authenticate(Image.fromPath(photo("biden", 1)), obama);
        assertEquals(List.of("failed", false, "LOW_CONFIDENCE"), List.of(impostor.status(), impostor.authenticated(), impostor.result().failureReason()));

        AuthDecision found = client.authentication().identify(Image.fromPath(photo("obama", 2)), Map.of("max_results", 3));
        assertEquals("completed", found.status());
        Match best = found.result().matches().get(0);
        assertEquals(List.of(obama, "Barack Obama", Map.of("team", "A")), List.of(best.userId(), best.name(), best.metadata()));
        assertFalse(found.result().matches().stream().anyMatch(m -> m.userId().equals(biden)));

        String dataUrl = "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(photo("biden", 1)));
        AuthDecision nobody = client.authenticate(Image.fromDataUrl(dataUrl), null); // a data URL goes in a JSON body
        assertEquals(List.of("failed", List.of(), "NO_MATCH"), List.of(nobody.status(), nobody.result().matches(), nobody.result().failureReason()));
    }

    @Test
    void sessionsBatchesAndDeletion() throws Exception {
        String biden = newUser("biden", "Joe Biden", Map.of());
        JsonObject session = client.enrollment().create(biden, Map.of("session_type", "upload", "quality_threshold", 0.3));
        assertEquals(List.of("active", biden), List.of(session.string("status"), session.string("user_id")));
        String token = session.string("session_token");
        JsonObject frame = client.enrollment().processFrame(token, Image.fromPath(photo("biden", 1)), Map.of("device", "java-test"));
        assertEquals("ready", frame.string("status"), frame.toString());
        EnrollmentResult done = client.enrollment().complete(token);
        assertEquals(List.of("completed", biden), List.of(done.status(), done.userId()));
        expectCode(WajahException.Conflict.class, "SESSION_COMPLETED", 409, () -> client.enrollment().processFrame(token, Image.fromPath(photo("biden", 1)), null));
        expectCode(WajahException.NotFound.class, "SESSION_NOT_FOUND", 404, () -> client.enrollment().complete("not-a-real-token"));

        JsonObject auth = client.authentication().create("verification", Map.of("user_id", biden));
        assertEquals(List.of("verification", biden, "active"), List.of(auth.string("mode"), auth.string("user_id"), auth.string("status")));
        AuthDecision decision = client.authentication().processFrame(auth.string("session_token"), Image.fromPath(photo("biden", 2)), null);
        assertTrue(decision.authenticated(), decision.raw().toString());

        JsonObject batch = client.authentication().batchProcess(List.of(Image.fromPath(photo("biden", 2)), Image.fromPath(photo("obama", 2))), Map.of("mode", "verification", "user_id", biden));
        assertEquals(List.of("verification", 2L), List.of(batch.string("mode"), batch.integer("total")));
        Map<Long, JsonObject> byIndex = new java.util.HashMap<>();
        batch.objects("results").forEach(r -> byIndex.put(r.integer("index"), r));
        assertTrue(byIndex.get(0L).object("result").bool("authenticated"), batch.toString());
        assertFalse(byIndex.get(1L).object("result").bool("authenticated"), batch.toString());

        JsonObject removed = client.enrollment().delete(done.enrollmentId());
        assertEquals(List.of(true, done.enrollmentId()), List.of(removed.bool("deleted"), removed.string("enrollment_id")));
        expectCode(WajahException.Invalid.class, "NOT_ENROLLED", 422, () -> client.authentication().verify(biden, Image.fromPath(photo("biden", 2)), Map.of()));
    }

    @Test
    void batchEnrollment() throws Exception {
        String a = newUser("batch-a", "Batch A", Map.of());
        String b = newUser("batch-b", "Batch B", Map.of());
        JsonObject out = client.enrollment().batch(List.of(Map.entry(a, Image.fromPath(photo("obama", 1))), Map.entry(b, Image.fromPath(photo("biden", 1)))), Map.of("quality_threshold", 0.3));
        assertEquals(List.of(2L, 2L, 0L), List.of(out.integer("total"), out.integer("completed"), out.integer("failed")), out.toString());
        assertEquals(1, client.enrollment().list(a).integer("count"));
    }
}
