// The guide's scenario: create a user, enroll a photo, verify, identify, check a webhook signature.
// Run: WAJAH_BASE_URL=… WAJAH_API_KEY=wk_… WAJAH_SECRET_KEY=wsk_… java -cp target/classes examples/Quickstart.java enroll.jpg probe.jpg
import id.wajah.sdk.AuthDecision;
import id.wajah.sdk.EnrollmentResult;
import id.wajah.sdk.Image;
import id.wajah.sdk.WajahClient;
import id.wajah.sdk.WajahException;
import id.wajah.sdk.WebhookSignature;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

public class Quickstart {
    public static void main(String[] args) throws WajahException {
        WajahClient client = WajahClient.builder()
                .baseUrl(System.getenv("WAJAH_BASE_URL"))
                .apiKey(System.getenv("WAJAH_API_KEY"))
                .secretKey(System.getenv("WAJAH_SECRET_KEY"))
                .build();
        String employee = "EMP-" + UUID.randomUUID().toString().substring(0, 8);

        client.users().create(employee, "John Doe", Map.of("email", "john.doe@company.com", "metadata", Map.of("department", "IT")));
        EnrollmentResult enrolled = client.enrollment().direct(employee, Image.fromPath(Path.of(args[0])), Map.of("quality_threshold", 0.5));
        System.out.println("enrolled " + enrolled.userId() + ": " + enrolled.status());

        // 1:1 verification. A face that does not match is an answer (status "failed"), not an exception.
        AuthDecision decision = client.authentication().verify(employee, Image.fromPath(Path.of(args[1])), Map.of());
        if (decision.authenticated()) {
            System.out.printf("verified %s (confidence %.2f)%n", decision.result().userId(), decision.result().confidence());
        }

        // 1:N identification: matches best first.
        AuthDecision found = client.authentication().identify(Image.fromPath(Path.of(args[1])), Map.of("max_results", 3));
        System.out.println("identified " + (found.result().matches().isEmpty() ? "nobody" : found.result().matches().get(0).name()));

        // Errors are checked exceptions carrying the server's stable code.
        try {
            client.users().get("EMP-does-not-exist");
        } catch (WajahException.NotFound e) {
            System.out.println("error " + e.code() + " (" + e.statusCode() + ")"); // USER_NOT_FOUND (404)
        } catch (WajahException.RateLimited e) {
            System.out.println("retry after " + e.retryAfter().orElse(1) + " s"); // 429/503 left after the client's own retries
        }

        // A webhook receiver checks X-Signature on the raw body before parsing it.
        String secret = "whsec_0123456789abcdef";
        String body = "{\"event\":\"user.created\",\"data\":{\"user_id\":\"" + employee + "\"}}";
        String header = WebhookSignature.sign(body, secret); // what the server sends in X-Signature
        System.out.println("signature " + (WebhookSignature.verify(body, header, secret) ? "valid" : "invalid"));

        client.users().delete(employee); // the user and all their face data
    }
}
