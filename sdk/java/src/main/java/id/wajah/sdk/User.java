package id.wajah.sdk;

import java.util.Map;

/**
 * A user of your tenant ({@code /api/clients/users/}). {@code externalId} is your id; every userId
 * parameter takes it or {@code id}. {@code email} and {@code lastAuthentication} may be null.
 */
public record User(String id, String externalId, String name, String email, Map<String, Object> metadata, boolean active,
                   String createdAt, String updatedAt, long enrollmentsCount, String lastAuthentication, JsonObject raw) {
    @SuppressWarnings("unchecked")
    static User of(Object parsed) {
        JsonObject o = JsonObject.of(parsed);
        return new User(o.string("id"), o.string("external_id"), o.string("name"), o.optString("email").orElse(null),
                (Map<String, Object>) o.get("metadata"), o.bool("is_active"), o.string("created_at"), o.string("updated_at"),
                o.integer("enrollments_count"), o.optString("last_authentication").orElse(null), o);
    }
}
