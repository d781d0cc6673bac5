package id.wajah.sdk;

/**
 * An authentication answer. A face that does not match is not an exception: {@code status} is
 * {@code failed} and {@code result.failureReason()} says why. {@code processing} means liveness
 * challenges continue ({@code raw().object("liveness")}). {@code result} is null while processing.
 */
public record AuthDecision(String status, AuthResult result, JsonObject raw) {
    static AuthDecision of(Object parsed) {
        JsonObject o = JsonObject.of(parsed);
        return new AuthDecision(o.string("status"), o.optObject("result").map(r -> AuthResult.of(r.asMap())).orElse(null), o);
    }

    /** True when a verification succeeded. */
    public boolean authenticated() {
        return result != null && Boolean.TRUE.equals(result.authenticated());
    }
}
