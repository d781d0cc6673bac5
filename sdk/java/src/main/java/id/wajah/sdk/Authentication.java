package id.wajah.sdk;

import java.util.List;
import java.util.Map;

/**
 * {@code /api/auth/authentication/…}: sessions (with server-driven liveness) and one-shot verify/identify.
 * A face that does not match is not an exception: {@code status} is {@code failed} and
 * {@code result().failureReason()} says why (LOW_CONFIDENCE, NO_MATCH, LIVENESS_FAILED, USER_INACTIVE).
 *
 * <pre>{@code AuthDecision d = client.authentication().verify("EMP001", Image.fromPath(probe), Map.of());
 * if (d.authenticated()) grantAccess(d.result().userId()); }</pre>
 */
public final class Authentication {
    private final Transport http;

    Authentication(Transport http) {
        this.http = http;
    }

    /**
     * @param mode verification (with user_id in options) or identification
     * @param options user_id, require_liveness, liveness_challenges, confidence_threshold, search_threshold, max_results, timeout, max_attempts, …
     */
    public JsonObject create(String mode, Map<String, ?> options) throws WajahException {
        return JsonObject.of(http.request("POST", "/auth/authentication/create/", null, Params.of(options, "mode", mode), null, null));
    }

    /** status: processing (follow raw().object("liveness")), completed or failed. @param frameMetadata may be null */
    public AuthDecision processFrame(String sessionToken, Image frame, Map<String, ?> frameMetadata) throws WajahException {
        Map<String, String> headers = Map.of("X-Session-Token", sessionToken);
        if (frame.isBinary()) {
            return AuthDecision.of(http.request("POST", "/auth/authentication/process-frame/", null, null,
                    new Transport.Form(Params.of(null, "frame_metadata", frameMetadata), Params.files("frame", frame)), headers));
        }
        Map<String, Object> body = Params.of(null, "frame", frame.text());
        if (frameMetadata != null) body.put("frame_metadata", frameMetadata);
        return AuthDecision.of(http.request("POST", "/auth/authentication/process-frame/", null, body, null, headers));
    }

    /**
     * Verifies or identifies many frames in one request.
     * @param options mode, user_id, batch_size, parallel_processing, confidence_threshold, search_threshold, max_results
     * @return {mode, total, results: [{index, status, result, …}], …}
     */
    public JsonObject batchProcess(List<Image> frames, Map<String, ?> options) throws WajahException {
        List<Map.Entry<String, Image>> files = frames.stream().map(f -> Map.entry("frames", f)).toList();
        Map<String, Object> fields = Params.of(null, "options", options == null || options.isEmpty() ? null : options);
        return JsonObject.of(http.request("POST", "/auth/authentication/batch-process/", null, null, new Transport.Form(fields, files), null));
    }

    /** One-shot 1:1 verification (server to server). @param options confidence_threshold */
    public AuthDecision verify(String userId, Image image, Map<String, ?> options) throws WajahException {
        return oneShot("/auth/authentication/verify/", Params.of(options, "user_id", userId), image);
    }

    /** One-shot 1:N identification; result().matches() best first. @param options max_results, search_threshold */
    public AuthDecision identify(Image image, Map<String, ?> options) throws WajahException {
        return oneShot("/auth/authentication/identify/", Params.of(options), image);
    }

    private AuthDecision oneShot(String path, Map<String, Object> fields, Image image) throws WajahException {
        if (image.isBinary()) return AuthDecision.of(http.request("POST", path, null, null, new Transport.Form(fields, Params.files("image", image)), null));
        fields.put("image", image.text());
        return AuthDecision.of(http.request("POST", path, null, fields, null, null));
    }
}
