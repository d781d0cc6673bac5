package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * Retries against WAJAH_FLAKY_URL, a server run by the Node test: {@code /<name>/api/core/status/} answers
 * 503 SERVICE_BUSY (Retry-After: 1), then 429 RATE_LIMIT_EXCEEDED (Retry-After: 1), then 200 with the
 * number of attempts it saw; under {@code /always-<name>/} it answers 503 (Retry-After: 0) every time.
 */
class RetryTest extends ServerTestBase {
    private static long attempts(String name) throws Exception {
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(env("WAJAH_FLAKY_URL") + "/" + name + "/count")).build(), HttpResponse.BodyHandlers.ofString()).body();
        return JsonObject.of(Json.parse(text)).integer("attempts");
    }

    @Test
    void retries429And503HonouringRetryAfter() throws Exception {
        WajahClient flaky = WajahClient.builder().baseUrl(env("WAJAH_FLAKY_URL") + "/java-" + random() + "/api").apiKey("wk_x").secretKey("wsk_x").build();
        long t0 = System.nanoTime();
        JsonObject status = flaky.status();
        double elapsed = (System.nanoTime() - t0) / 1e9;
        assertEquals(3, status.integer("attempts"));
        assertTrue(elapsed >= 1.9 && elapsed < 10, "waited Retry-After (1 s) twice: " + elapsed);
    }

    @Test
    void givesUpAfterMaxRetries() throws Exception {
        String name = "always-java-" + random();
        WajahClient flaky = WajahClient.builder().baseUrl(env("WAJAH_FLAKY_URL") + "/" + name + "/api").apiKey("wk_x").secretKey("wsk_x").maxRetries(3).build();
        var e = expectCode(WajahException.RateLimited.class, "SERVICE_BUSY", 503, flaky::status);
        assertEquals(0.0, e.retryAfter().orElseThrow());
        assertEquals(4, attempts(name), "one call and three retries");

        WajahClient once = WajahClient.builder().baseUrl(env("WAJAH_FLAKY_URL") + "/" + name + "-0/api").apiKey("wk_x").secretKey("wsk_x").maxRetries(0).build();
        expectCode(WajahException.RateLimited.class, "SERVICE_BUSY", 503, once::status);
        assertEquals(1, attempts(name + "-0"));
    }
}
