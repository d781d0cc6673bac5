package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UsersAndErrorsTest extends ServerTestBase {
    @Test
    void status() throws Exception {
        JsonObject status = client.status();
        assertTrue(List.of("healthy", "degraded").contains(status.string("status")), status.toString());
        assertEquals("online", status.object("services").string("face_recognition"));
        assertTrue(client.baseUrl().endsWith("/api"));
    }

    @Test
    void userLifecycle() throws Exception {
        String ext = "EMP-" + random();
        User created = client.users().create(ext, "Zoë Doe", Map.of("email", "zoe.doe@company.com", "metadata", Map.of("department", "IT")));
        assertEquals(List.of(ext, "Zoë Doe", true, 0L), List.of(created.externalId(), created.name(), created.active(), created.enrollmentsCount()));
        assertNull(created.lastAuthentication());
        assertEquals(created, client.users().get(created.id()));
        assertEquals(created.id(), client.users().get(ext).id());
        assertThrows(UnsupportedOperationException.class, () -> created.metadata().put("x", 1), "results are immutable");

        Page<User> page = client.users().list(Map.of("search", "zoe.doe@company", "page_size", 10));
        assertEquals(List.of(ext), page.results().stream().map(User::externalId).toList());
        assertEquals(10, page.pageSize());

        User updated = client.users().update(ext, Map.of("name", "Zoë Q. Doe", "metadata", Map.of("department", "HR")));
        assertEquals(List.of("Zoë Q. Doe", Map.of("department", "HR"), "zoe.doe@company.com"), List.of(updated.name(), updated.metadata(), updated.email()));
        Map<String, Object> clear = new HashMap<>();
        clear.put("email", null);
        assertNull(client.users().update(ext, clear).email());
        assertFalse(client.users().deactivate(ext).active());
        assertTrue(client.users().list(Map.of("is_active", false, "page_size", 100)).results().stream().anyMatch(u -> u.externalId().equals(ext)));
        assertTrue(client.users().activate(ext).active());
        JsonObject exported = client.users().export(ext);
        assertEquals(created.id(), exported.object("user").string("id"));
        assertTrue(exported.has("face_templates"));

        client.users().delete(ext);
        expectCode(WajahException.NotFound.class, "USER_NOT_FOUND", 404, () -> client.users().get(ext));
    }

    @Test
    void serverErrorCodes() throws Exception {
        var e = expectCode(WajahException.NotFound.class, "USER_NOT_FOUND", 404, () -> client.users().get("nobody-" + random()));
        assertTrue(e.retryAfter().isEmpty());
        String ext = newUser("DUP", "Dup", Map.of());
        expectCode(WajahException.Conflict.class, "USER_EXISTS", 409, () -> client.users().create(ext, "Dup"));
        var invalid = expectCode(WajahException.Invalid.class, "VALIDATION_ERROR", 400, () -> client.users().list(Map.of("page_size", 1000)));
        assertEquals("page_size", ((Map<?, ?>) invalid.details()).get("field"));
        WajahClient wrong = WajahClient.builder().baseUrl(env("WAJAH_BASE_URL")).apiKey(env("WAJAH_API_KEY")).secretKey("wsk_wrong").build();
        expectCode(WajahException.Unauthorized.class, "INVALID_CREDENTIALS", 401, () -> wrong.users().list(Map.of()));
    }

    @Test
    void rateLimitCarriesRetryAfterWithoutWaitingAnHour() throws Exception {
        WajahClient limited = WajahClient.builder().baseUrl(env("WAJAH_BASE_URL")).apiKey(env("WAJAH_LIMITED_API_KEY")).secretKey(env("WAJAH_LIMITED_SECRET_KEY")).build();
        limited.users().list(Map.of());
        long t0 = System.nanoTime();
        var e = expectCode(WajahException.RateLimited.class, "RATE_LIMIT_EXCEEDED", 429, () -> limited.users().list(Map.of()));
        double after = e.retryAfter().orElseThrow();
        assertTrue(after > 0 && after <= 3600, "retryAfter " + after);
        assertTrue((System.nanoTime() - t0) / 1e9 < 5, "a Retry-After beyond maxRetryDelay is thrown at once");
    }

    @Test
    void noServerIsANetworkError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        WajahClient none = WajahClient.builder().baseUrl("http://127.0.0.1:" + port).apiKey("wk_x").secretKey("wsk_x").build();
        assertEquals("http://127.0.0.1:" + port + "/api", none.baseUrl());
        expectCode(WajahException.Transport.class, WajahException.NETWORK_ERROR, 0, none::status);
    }

    @Test
    void analytics() throws Exception {
        JsonObject dash = client.analytics().dashboard(Map.of("period", "last_7_days"));
        assertEquals("last_7_days", dash.string("period"));
        assertTrue(dash.object("metrics").integer("total_authentications") >= 0);
        assertTrue(client.analytics().statistics(Map.of("period", "today")).has("series"));
        assertTrue(client.analytics().userBehavior(Map.of()).has("time_patterns"));
        assertTrue(client.analytics().systemMetrics().has("metrics"));
        assertTrue(client.analytics().modelPerformance(Map.of()).has("confidence_distribution"));
        assertTrue(client.analytics().auditLogs(Map.of("page_size", 5)).has("results"));
        expectCode(WajahException.Invalid.class, "VALIDATION_ERROR", 400, () -> client.analytics().dashboard(Map.of("period", "fortnight")));
    }
}
