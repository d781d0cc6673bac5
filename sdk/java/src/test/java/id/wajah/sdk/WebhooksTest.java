package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Real deliveries land on a receiver the Node test runs (WAJAH_RECEIVER_URL; GET /captured lists them). */
class WebhooksTest extends ServerTestBase {
    private static final String SECRET = "webhook_secret_key_123_java";

    record Delivery(Map<String, Object> headers, byte[] body) {
        String header(String name) {
            return (String) headers.get(name);
        }
    }

    @SuppressWarnings("unchecked")
    private static Delivery delivery(String path, String event) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long end = System.nanoTime() + 15_000_000_000L;
        do {
            String text = http.send(HttpRequest.newBuilder(URI.create(env("WAJAH_RECEIVER_URL") + "/captured")).build(), HttpResponse.BodyHandlers.ofString()).body();
            for (Object o : (List<Object>) Json.parse(text)) {
                Map<String, Object> d = (Map<String, Object>) o;
                Map<String, Object> headers = (Map<String, Object>) d.get("headers");
                if (path.equals(d.get("path")) && event.equals(headers.get("x-event-type")))
                    return new Delivery(headers, Base64.getDecoder().decode((String) d.get("body_base64")));
            }
            Thread.sleep(100);
        } while (System.nanoTime() < end);
        return fail("no " + event + " delivery on " + path);
    }

    @Test
    void endpointCrudRealSignedDeliveriesAndLogs() throws Exception {
        String path = "/java-" + random();
        String url = env("WAJAH_RECEIVER_URL") + path;
        WebhookEndpoint ep = client.webhooks().createEndpoint(url, List.of("user.created", "user.updated"),
                Map.of("secret", SECRET, "retry_policy", Map.of("max_retries", 1, "backoff_strategy", "fixed", "retry_delay", 1)));
        assertEquals(List.of(url, List.of("user.created", "user.updated"), true), List.of(ep.url(), ep.events(), ep.secretSet()));
        assertEquals(null, ep.secret());
        assertEquals(ep, client.webhooks().getEndpoint(ep.id()));
        assertTrue(client.webhooks().listEndpoints(Map.of("page_size", 100)).results().stream().anyMatch(e -> e.id().equals(ep.id())));

        String ext = newUser("hook", "Zoë Ñandú", Map.of());
        Delivery got = delivery(path, "user.created");
        assertTrue(WebhookSignature.verify(got.body(), got.header("x-signature"), SECRET));
        assertFalse(WebhookSignature.verify(got.body(), got.header("x-signature"), SECRET + "-other"));
        String text = new String(got.body(), StandardCharsets.UTF_8);
        assertTrue(WebhookSignature.verify(text, got.header("x-signature"), SECRET));
        assertFalse(WebhookSignature.verify(text.replace("Zo", "Jo"), got.header("x-signature"), SECRET));
        JsonObject body = JsonObject.of(Json.parse(text));
        assertEquals(List.of("user.created", ext, "Zoë Ñandú"), List.of(body.string("event"), body.object("data").string("user_id"), body.object("data").string("name")));

        assertEquals(List.of("user.updated"), client.webhooks().updateEndpoint(ep.id(), Map.of("events", List.of("user.updated"))).events());
        assertEquals(Webhooks.EVENTS, client.webhooks().replaceEndpoint(ep.id(), url, Webhooks.EVENTS, Map.of()).events());

        JsonObject ping = client.webhooks().testEndpoint(ep.id());
        assertEquals(List.of("webhook.test", "delivered", ep.id()), List.of(ping.string("event_type"), ping.string("status"), ping.string("endpoint_id")));
        Delivery first = delivery(path, "webhook.test");
        assertTrue(WebhookSignature.verify(first.body(), first.header("x-signature"), SECRET));
        Page<JsonObject> logs = client.webhooks().logs(Map.of("endpoint_id", ep.id(), "event_type", "webhook.test"));
        assertEquals(List.of(ping.string("id")), logs.results().stream().map(l -> l.string("id")).toList());
        assertEquals(ping.string("id"), client.webhooks().log(ping.string("id")).string("id"));
        assertEquals(ping.string("id"), client.webhooks().retryLog(ping.string("id")).string("id"));

        client.webhooks().deleteEndpoint(ep.id());
        expectCode(WajahException.NotFound.class, "WEBHOOK_NOT_FOUND", 404, () -> client.webhooks().getEndpoint(ep.id()));
        expectCode(WajahException.Invalid.class, "INVALID_WEBHOOK_URL", 400, () -> client.webhooks().createEndpoint("ftp://example.com/x", List.of("user.created"), Map.of()));
    }

    /** A body and X-Signature made by the server's own serializer and signer (src/services/webhooks/signer.ts). */
    @Test
    void verifiesTheServersOwnSignature() {
        byte[] body = Base64.getDecoder().decode(env("WAJAH_SERVER_SIGNED_BODY"));
        String header = env("WAJAH_SERVER_SIGNATURE");
        String secret = env("WAJAH_SERVER_SIGNING_SECRET");
        assertEquals(header, WebhookSignature.sign(body, secret));
        assertTrue(WebhookSignature.verify(body, header, secret));
        byte[] tampered = body.clone();
        tampered[tampered.length - 1] = ' ';
        assertFalse(WebhookSignature.verify(tampered, header, secret));
        assertFalse(WebhookSignature.verify(body, header, secret.substring(0, secret.length() - 1)));
        assertFalse(WebhookSignature.verify(body, header.toUpperCase(), secret));
        assertFalse(WebhookSignature.verify(body, null, secret));
        assertFalse(WebhookSignature.verify(body, header, ""));
    }
}
