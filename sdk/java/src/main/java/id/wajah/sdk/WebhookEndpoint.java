package id.wajah.sdk;

import java.util.List;

/** A webhook endpoint. {@code secret} is non-null only in the creation answer, when the server generated it. */
public record WebhookEndpoint(String id, String url, List<String> events, boolean active, JsonObject retryPolicy, boolean secretSet,
                              String secret, String createdAt, String updatedAt, JsonObject raw) {
    static WebhookEndpoint of(Object parsed) {
        JsonObject o = JsonObject.of(parsed);
        return new WebhookEndpoint(o.string("id"), o.string("url"), o.strings("events"), o.bool("is_active"), o.object("retry_policy"),
                o.bool("secret_set"), o.optString("secret").orElse(null), o.string("created_at"), o.string("updated_at"), o);
    }
}
