package id.wajah.sdk;

import java.util.List;
import java.util.Map;

/**
 * {@code /api/webhooks/…}: endpoints and delivery logs.
 *
 * <pre>{@code WebhookEndpoint ep = client.webhooks().createEndpoint("https://app.example/hooks", List.of("authentication.success"), Map.of());
 * Page<JsonObject> failed = client.webhooks().logs(Map.of("status", "failed")); }</pre>
 */
public final class Webhooks {
    /** Every event the server sends (docs/webhooks.md). */
    public static final List<String> EVENTS = List.of("enrollment.completed", "enrollment.failed", "authentication.success",
            "authentication.failed", "liveness.failed", "user.created", "user.updated");

    private final Transport http;

    Webhooks(Transport http) {
        this.http = http;
    }

    private static String endpoint(String id) {
        return "/webhooks/endpoints/" + Transport.seg(id) + "/";
    }

    /** The answer carries {@code secret} once, when the server generated it. @param options secret, is_active, retry_policy (a Map) */
    public WebhookEndpoint createEndpoint(String url, List<String> events, Map<String, ?> options) throws WajahException {
        return WebhookEndpoint.of(http.request("POST", "/webhooks/endpoints/", null, Params.of(options, "url", url, "events", events), null, null));
    }

    /** @param query page, page_size */
    public Page<WebhookEndpoint> listEndpoints(Map<String, ?> query) throws WajahException {
        return Page.of(http.request("GET", "/webhooks/endpoints/", query, null, null, null), WebhookEndpoint::of);
    }

    public WebhookEndpoint getEndpoint(String id) throws WajahException {
        return WebhookEndpoint.of(http.request("GET", endpoint(id), null, null, null, null));
    }

    /** PUT: an omitted secret is kept, omitted is_active/retry_policy go back to their defaults. */
    public WebhookEndpoint replaceEndpoint(String id, String url, List<String> events, Map<String, ?> options) throws WajahException {
        return WebhookEndpoint.of(http.request("PUT", endpoint(id), null, Params.of(options, "url", url, "events", events), null, null));
    }

    /** PATCH: only the fields given change; send {@code secret} to rotate it. */
    public WebhookEndpoint updateEndpoint(String id, Map<String, ?> changes) throws WajahException {
        return WebhookEndpoint.of(http.request("PATCH", endpoint(id), null, Params.of(changes), null, null));
    }

    /** Deletes the endpoint and its delivery logs. */
    public void deleteEndpoint(String id) throws WajahException {
        http.request("DELETE", endpoint(id), null, null, null, null);
    }

    /** Sends a signed {@code webhook.test} ping now; answers the delivery log after its first attempt. */
    public JsonObject testEndpoint(String id) throws WajahException {
        return JsonObject.of(http.request("POST", endpoint(id) + "test/", null, null, null, null));
    }

    /** Deliveries, newest first. @param query page, page_size, event_type, status, endpoint_id, start_date, end_date */
    public Page<JsonObject> logs(Map<String, ?> query) throws WajahException {
        return Page.of(http.request("GET", "/webhooks/logs/", query, null, null, null), JsonObject::of);
    }

    /** One delivery, with the body sent. */
    public JsonObject log(String logId) throws WajahException {
        return JsonObject.of(http.request("GET", "/webhooks/logs/" + Transport.seg(logId) + "/", null, null, null, null));
    }

    /** Re-queues a delivery for an immediate attempt with a fresh retry budget. */
    public JsonObject retryLog(String logId) throws WajahException {
        return JsonObject.of(http.request("POST", "/webhooks/logs/" + Transport.seg(logId) + "/retry/", null, null, null, null));
    }
}
