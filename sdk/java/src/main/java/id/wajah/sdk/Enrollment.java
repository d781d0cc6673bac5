package id.wajah.sdk;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code /api/auth/enrollment/…} and {@code /api/auth/enrollments/…}. Bytes and files go as multipart
 * parts, data URLs in a JSON body.
 *
 * <pre>{@code client.enrollment().direct("EMP001", Image.fromPath(Path.of("face.jpg")), Map.of("quality_threshold", 0.6)); }</pre>
 */
public final class Enrollment {
    private final Transport http;

    Enrollment(Transport http) {
        this.http = http;
    }

    /** Starts a frame session; keep {@code session_token}. @param options session_type, quality_threshold, require_multiple_angles, timeout, … */
    public JsonObject create(String userId, Map<String, ?> options) throws WajahException {
        return JsonObject.of(http.request("POST", "/auth/enrollment/create/", null, Params.of(options, "user_id", userId), null, null));
    }

    /** Sends one frame; the answer's {@code status} is {@code ready} once enough frames are in. @param frameMetadata may be null */
    public JsonObject processFrame(String sessionToken, Image frame, Map<String, ?> frameMetadata) throws WajahException {
        Map<String, String> headers = Map.of("X-Session-Token", sessionToken);
        if (frame.isBinary()) {
            return JsonObject.of(http.request("POST", "/auth/enrollment/process-frame/", null, null,
                    new Transport.Form(Params.of(null, "frame_metadata", frameMetadata), Params.files("frame", frame)), headers));
        }
        Map<String, Object> body = Params.of(null, "frame", frame.text());
        if (frameMetadata != null) body.put("frame_metadata", frameMetadata);
        return JsonObject.of(http.request("POST", "/auth/enrollment/process-frame/", null, body, null, headers));
    }

    public EnrollmentResult complete(String sessionToken) throws WajahException {
        return EnrollmentResult.of(http.request("POST", "/auth/enrollment/complete/", null, null, null, Map.of("X-Session-Token", sessionToken)));
    }

    /** Enrolls from one image. @param options quality_threshold */
    public EnrollmentResult direct(String userId, Image image, Map<String, ?> options) throws WajahException {
        if (image.isBinary()) {
            return EnrollmentResult.of(http.request("POST", "/auth/enrollment/direct/", null, null,
                    new Transport.Form(Params.of(options, "user_id", userId), Params.files("image", image)), null));
        }
        return EnrollmentResult.of(http.request("POST", "/auth/enrollment/direct/", null, Params.of(options, "user_id", userId, "image", image.text()), null, null));
    }

    /**
     * Enrolls many users/images at once; images of one user become one enrollment.
     * @param items (userId, image) pairs, e.g. {@code List.of(Map.entry("EMP001", img1), Map.entry("EMP002", img2))}
     * @return {total, completed, failed, results: [{index, user_id, filename, status, enrollment_id?, error?}]}
     */
    public JsonObject batch(List<Map.Entry<String, Image>> items, Map<String, ?> options) throws WajahException {
        List<String> userIds = new ArrayList<>();
        List<Map.Entry<String, Image>> files = new ArrayList<>();
        for (Map.Entry<String, Image> it : items) {
            userIds.add(it.getKey());
            files.add(Map.entry("images", it.getValue()));
        }
        return JsonObject.of(http.request("POST", "/auth/enrollment/batch/", null, null, new Transport.Form(Params.of(options, "user_ids", userIds), files), null));
    }

    /** A user's enrollments: {user_id, count, enrollments}. */
    public JsonObject list(String userId) throws WajahException {
        return JsonObject.of(http.request("GET", "/auth/enrollments/", Map.of("user_id", userId), null, null, null));
    }

    /** Deletes one enrollment; its templates leave the search at once. */
    public JsonObject delete(String enrollmentId) throws WajahException {
        return JsonObject.of(http.request("DELETE", "/auth/enrollments/" + Transport.seg(enrollmentId) + "/", null, null, null, null));
    }
}
