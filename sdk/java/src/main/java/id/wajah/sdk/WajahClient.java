package id.wajah.sdk;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * The Wajah API client, immutable and thread-safe. Sends {@code Authorization: ApiKey KEY:SECRET} on every
 * call; every failure throws a checked {@link WajahException} whose {@code code()} is the server's stable
 * code. 429 and 503 answers are retried (maxRetries, exponential backoff, honouring Retry-After up to
 * maxRetryDelay; a longer Retry-After is thrown at once).
 *
 * <pre>{@code WajahClient client = WajahClient.builder()
 *     .baseUrl("http://localhost:8000/api").apiKey(System.getenv("WAJAH_API_KEY")).secretKey(System.getenv("WAJAH_SECRET_KEY"))
 *     .build();
 * client.users().create("EMP001", "John Doe");
 * client.enrollment().direct("EMP001", Image.fromPath(Path.of("face.jpg")), Map.of());
 * AuthDecision d = client.authenticate(Image.fromPath(Path.of("probe.jpg")), "EMP001"); }</pre>
 */
public final class WajahClient {
    private final Transport http;
    private final Users users;
    private final Enrollment enrollment;
    private final Authentication authentication;
    private final Webhooks webhooks;
    private final Analytics analytics;

    private WajahClient(Builder b) {
        HttpClient httpClient = b.httpClient != null ? b.httpClient
                : HttpClient.newBuilder().connectTimeout(b.timeout).followRedirects(HttpClient.Redirect.NEVER) // a redirect would resend the credentials
                        .version(HttpClient.Version.HTTP_1_1).build();
        this.http = new Transport(Objects.requireNonNull(b.baseUrl, "baseUrl"), b.apiKey, b.secretKey, httpClient, b.timeout, b.maxRetries, b.maxRetryDelay);
        this.users = new Users(http);
        this.enrollment = new Enrollment(http);
        this.authentication = new Authentication(http);
        this.webhooks = new Webhooks(http);
        this.analytics = new Analytics(http);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Users users() {
        return users;
    }

    public Enrollment enrollment() {
        return enrollment;
    }

    public Authentication authentication() {
        return authentication;
    }

    public Webhooks webhooks() {
        return webhooks;
    }

    public Analytics analytics() {
        return analytics;
    }

    /** The resolved API base URL ({@code …/api}). */
    public String baseUrl() {
        return http.base;
    }

    /** {@code GET /api/core/status/}. */
    public JsonObject status() throws WajahException {
        return JsonObject.of(http.request("GET", "/core/status/", null, null, null, null));
    }

    /** The guide's shorthand: 1:1 verification when userId is non-null, 1:N identification otherwise. */
    public AuthDecision authenticate(Image image, String userId) throws WajahException {
        return userId != null ? authentication.verify(userId, image, Map.of()) : authentication.identify(image, Map.of());
    }

    /** Any other API route with this client's credentials and error mapping; the parsed JSON answer (Map, List, …). */
    public Object request(String method, String path, Map<String, ?> query, Object json) throws WajahException {
        return http.request(method, path, query, json, null, null);
    }

    /** Settings of a client; baseUrl, apiKey and secretKey are required. */
    public static final class Builder {
        private String baseUrl;
        private String apiKey;
        private String secretKey;
        private Duration timeout = Duration.ofSeconds(30);
        private int maxRetries = 2;
        private Duration maxRetryDelay = Duration.ofSeconds(30);
        private HttpClient httpClient;

        private Builder() {
        }

        /** The API base, e.g. https://faces.example.com/api; a bare origin means {@code <origin>/api}. */
        public Builder baseUrl(String baseUrl) {
            this.baseUrl = baseUrl;
            return this;
        }

        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }

        public Builder secretKey(String secretKey) {
            this.secretKey = secretKey;
            return this;
        }

        /** Per request, the whole answer (headers and body) included (default 30 s); past it a call throws TIMEOUT. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** Retries of a 429/503 answer (default 2; 0 disables). */
        public Builder maxRetries(int maxRetries) {
            if (maxRetries < 0) throw new IllegalArgumentException("maxRetries must be >= 0");
            this.maxRetries = maxRetries;
            return this;
        }

        /** The longest Retry-After waited for (default 30 s). */
        public Builder maxRetryDelay(Duration maxRetryDelay) {
            this.maxRetryDelay = maxRetryDelay;
            return this;
        }

        /** Your own java.net.http client (proxy, TLS); it should not follow redirects. */
        public Builder httpClient(HttpClient httpClient) {
            this.httpClient = httpClient;
            return this;
        }

        public WajahClient build() {
            return new WajahClient(this);
        }
    }
}
