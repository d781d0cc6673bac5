package id.wajah.sdk;

/** A completed enrollment; {@code userId} is the external_id; qualityMetrics has overall_quality, face_count, … */
public record EnrollmentResult(String status, String enrollmentId, String userId, JsonObject qualityMetrics, String createdAt, JsonObject raw) {
    static EnrollmentResult of(Object parsed) {
        JsonObject o = JsonObject.of(parsed);
        return new EnrollmentResult(o.string("status"), o.string("enrollment_id"), o.string("user_id"), o.object("quality_metrics"), o.string("created_at"), o);
    }
}
