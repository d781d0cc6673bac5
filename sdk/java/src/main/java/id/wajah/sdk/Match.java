package id.wajah.sdk;

import java.util.Map;

/** An identification candidate: {@code userId} is the external_id. */
public record Match(String userId, double confidence, String name, Map<String, Object> metadata) {
    @SuppressWarnings("unchecked")
    static Match of(Object parsed) {
        JsonObject o = JsonObject.of(parsed);
        return new Match(o.string("user_id"), o.number("confidence"), o.string("name"), (Map<String, Object>) o.get("metadata"));
    }
}
