package id.wajah.sdk;

import java.util.List;

/**
 * The outcome of a verification or identification. Verification sets {@code authenticated} (else null);
 * identification sets {@code matches}, best first (else empty). {@code failureReason} (LOW_CONFIDENCE,
 * NO_MATCH, LIVENESS_FAILED, USER_INACTIVE) is null on success.
 */
public record AuthResult(Boolean authenticated, Double confidence, String userId, List<Match> matches, Double livenessScore,
                         Double qualityScore, Double threshold, String failureReason, JsonObject raw) {
    static AuthResult of(Object parsed) {
        JsonObject o = JsonObject.of(parsed);
        return new AuthResult(o.get("authenticated") instanceof Boolean b ? b : null, o.optNumber("confidence").orElse(null),
                o.optString("user_id").orElse(null), o.has("matches") ? o.array("matches").stream().map(Match::of).toList() : List.of(),
                o.optNumber("liveness_score").orElse(null), o.optNumber("quality_score").orElse(null), o.optNumber("threshold").orElse(null),
                o.optString("failure_reason").orElse(null), o);
    }
}
