package id.wajah.sdk;

import java.util.Map;

/**
 * {@code /api/clients/users/…}. Every userId is the user's uuid or your external_id.
 *
 * <pre>{@code User u = client.users().create("EMP001", "John Doe", Map.of("email", "john.doe@company.com")); }</pre>
 */
public final class Users {
    private final Transport http;

    Users(Transport http) {
        this.http = http;
    }

    /** @param options email, metadata (a Map) */
    public User create(String externalId, String name, Map<String, ?> options) throws WajahException {
        return User.of(http.request("POST", "/clients/users/", null, Params.of(options, "external_id", externalId, "name", name), null, null));
    }

    public User create(String externalId, String name) throws WajahException {
        return create(externalId, name, Map.of());
    }

    /** @param query page, page_size, search, is_active, has_enrollment */
    public Page<User> list(Map<String, ?> query) throws WajahException {
        return Page.of(http.request("GET", "/clients/users/", query, null, null, null), User::of);
    }

    public User get(String userId) throws WajahException {
        return User.of(http.request("GET", "/clients/users/" + Transport.seg(userId) + "/", null, null, null, null));
    }

    /** @param changes external_id, name, email (null clears it), metadata, is_active */
    public User update(String userId, Map<String, ?> changes) throws WajahException {
        return User.of(http.request("PUT", "/clients/users/" + Transport.seg(userId) + "/", null, Params.of(changes), null, null));
    }

    /** Deletes the user and all their face data (right to deletion). */
    public void delete(String userId) throws WajahException {
        http.request("DELETE", "/clients/users/" + Transport.seg(userId) + "/", null, null, null, null);
    }

    public User activate(String userId) throws WajahException {
        return User.of(http.request("POST", "/clients/users/" + Transport.seg(userId) + "/activate/", null, null, null, null));
    }

    /** A deactivated user cannot enroll or authenticate; their data is kept. */
    public User deactivate(String userId) throws WajahException {
        return User.of(http.request("POST", "/clients/users/" + Transport.seg(userId) + "/deactivate/", null, null, null, null));
    }

    /** Everything held on the user, embeddings included (portability). */
    public JsonObject export(String userId) throws WajahException {
        return JsonObject.of(http.request("GET", "/clients/users/" + Transport.seg(userId) + "/export/", null, null, null, null));
    }
}
