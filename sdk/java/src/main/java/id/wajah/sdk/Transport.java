package id.wajah.sdk;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one place requests are made: credentials, JSON and multipart bodies, timeouts, error mapping, and
 * retries of 429/503 answers with exponential backoff that honours Retry-After.
 */
final class Transport {
    static final String USER_AGENT = "wajah-sdk-java/1.0.0";
    private static final SecureRandom RANDOM = new SecureRandom();

    final String base;
    private final String authorization;
    private final HttpClient http;
    private final Duration timeout;
    private final int maxRetries;
    private final Duration maxRetryDelay;

    /** Text fields and file parts of a multipart body. */
    record Form(Map<String, Object> fields, List<Map.Entry<String, Image>> files) {
    }

    Transport(String baseUrl, String apiKey, String secretKey, HttpClient http, Duration timeout, int maxRetries, Duration maxRetryDelay) {
        if (apiKey == null || apiKey.isEmpty() || secretKey == null || secretKey.isEmpty()) throw new IllegalArgumentException("apiKey and secretKey are required");
        this.base = apiBase(baseUrl);
        this.authorization = "ApiKey " + apiKey + ":" + secretKey;
        this.http = http;
        this.timeout = timeout;
        this.maxRetries = maxRetries;
        this.maxRetryDelay = maxRetryDelay;
    }

    /** {@code http://host:8000} (no path) means the default base path {@code /api}; any other path is kept. */
    static String apiBase(String baseUrl) {
        URI u = URI.create(baseUrl.trim());
        if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null)
            throw new IllegalArgumentException("baseUrl must be an absolute http(s) URL, got '" + baseUrl + "'");
        String path = u.getRawPath() == null ? "" : u.getRawPath().replaceAll("/+$", "");
        return u.getScheme() + "://" + u.getRawAuthority() + (path.isEmpty() ? "/api" : path);
    }

    /** One path segment: ids may be external ids with any characters. */
    static String seg(String id) {
        return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** The parsed JSON answer (null for an empty one, e.g. 204). */
    Object request(String method, String path, Map<String, ?> query, Object json, Form form, Map<String, String> headers) throws WajahException {
        for (int attempt = 0; ; attempt++) {
            try {
                return once(method, path, query, json, form, headers);
            } catch (WajahException e) {
                int status = e.statusCode();
                if ((status != 429 && status != 503) || attempt >= maxRetries) throw e;
                // Exponential backoff (0.5 s, 1 s, 2 s … with jitter) unless the server said when.
                double delay = e.retryAfter().orElse(0.5 * Math.pow(2, attempt) * (1 + ThreadLocalRandom.current().nextDouble() * 0.25));
                if (delay * 1000 > maxRetryDelay.toMillis()) throw e; // e.g. an hourly quota: waiting would only hang the caller
                try {
                    Thread.sleep((long) (delay * 1000));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private Object once(String method, String path, Map<String, ?> query, Object json, Form form, Map<String, String> headers) throws WajahException {
        String what = method + " " + path;
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path + queryString(query)))
                .timeout(timeout)
                .header("Authorization", authorization)
                .header("Accept", "application/json")
                .header("User-Agent", USER_AGENT);
        if (headers != null) headers.forEach(b::header);
        // On plain http the client's HTTP/2 default sends an h2c Upgrade with the body, which HTTP/1.1
        // servers (and proxies) may take for a malformed request; over https ALPN negotiates instead.
        if (base.startsWith("http://")) b.version(HttpClient.Version.HTTP_1_1);
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.noBody();
        if (form != null) {
            String boundary = "----wajah" + HexFormat.of().formatHex(randomBytes());
            body = HttpRequest.BodyPublishers.ofByteArray(multipart(boundary, form));
            b.header("Content-Type", "multipart/form-data; boundary=" + boundary);
        } else if (json != null) {
            body = HttpRequest.BodyPublishers.ofString(Json.write(json), StandardCharsets.UTF_8);
            b.header("Content-Type", "application/json");
        }
        b.method(method, body);
        // The request's own timeout ends when the response headers arrive: a server (or proxy) that sends the
        // headers and then stalls the body would hold send() for ever. The deadline covers the whole answer.
        HttpResponse<byte[]> res;
        CompletableFuture<HttpResponse<byte[]>> pending = http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        try {
            res = pending.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw new WajahException.Transport(WajahException.TIMEOUT, what + ": no answer within " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause instanceof CompletionException && cause.getCause() != null) cause = cause.getCause();
            if (cause instanceof HttpTimeoutException) {
                throw new WajahException.Transport(WajahException.TIMEOUT, what + ": no answer within " + timeout.toMillis() + " ms", cause);
            }
            throw new WajahException.Transport(WajahException.NETWORK_ERROR, what + ": " + cause, cause);
        } catch (InterruptedException e) {
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw new WajahException.Transport(WajahException.NETWORK_ERROR, what + ": interrupted", e);
        }
        String text = new String(res.body(), StandardCharsets.UTF_8);
        int status = res.statusCode();
        if (status < 200 || status >= 300) throw responseError(status, text, res.headers().firstValue("retry-after").orElse(null));
        if (text.isBlank()) return null;
        try {
            return Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new WajahException(WajahException.UNEXPECTED_RESPONSE, what + ": the answer is not JSON", status, null, null, e);
        }
    }

    private static byte[] randomBytes() {
        byte[] r = new byte[12];
        RANDOM.nextBytes(r);
        return r;
    }

    /** Seconds from Retry-After (seconds or an HTTP date); null when absent or unreadable. */
    static Double parseRetryAfter(String value) {
        if (value == null || value.isBlank()) return null;
        try {
            double seconds = Double.parseDouble(value.trim());
            return Double.isNaN(seconds) ? null : Math.max(0, seconds); // NaN would mean "retry at once, for ever"
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME);
                return (double) Math.max(0, Duration.between(ZonedDateTime.now(at.getZone()), at).toSeconds());
            } catch (RuntimeException e) {
                return null;
            }
        }
    }

    private static WajahException responseError(int status, String text, String retryAfterHeader) {
        Double retryAfter = parseRetryAfter(retryAfterHeader);
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (IllegalArgumentException e) {
            parsed = null;
        }
        if (parsed instanceof Map<?, ?> m && m.get("code") instanceof String code) {
            String message = m.get("message") instanceof String s ? s : code;
            return WajahException.fromResponse(code, message, status, m.get("details"), retryAfter);
        }
        return new WajahException(WajahException.UNEXPECTED_RESPONSE, "HTTP " + status + ": " + text.substring(0, Math.min(200, text.length())), status, null, retryAfter, null);
    }

    /** A form/query value as text: booleans as true/false, maps and lists as JSON (the server parses them). */
    private static String text(Object v) {
        if (v instanceof Map<?, ?> || v instanceof Iterable<?>) return Json.write(v);
        return String.valueOf(v);
    }

    private static String queryString(Map<String, ?> query) {
        if (query == null) return "";
        StringJoiner j = new StringJoiner("&", "?", "");
        j.setEmptyValue("");
        query.forEach((k, v) -> {
            if (v != null) j.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "=" + URLEncoder.encode(text(v), StandardCharsets.UTF_8));
        });
        return j.toString();
    }

    private static byte[] multipart(String boundary, Form form) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        form.fields().forEach((k, v) -> {
            if (v != null) write(out, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + text(v) + "\r\n");
        });
        for (Map.Entry<String, Image> f : form.files()) {
            byte[] bytes = f.getValue().bytes();
            String name = f.getValue().filename().replaceAll("[\"\r\n]", "_");
            write(out, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"; filename=\"" + name + "\"\r\nContent-Type: " + Image.sniffType(bytes) + "\r\n\r\n");
            out.writeBytes(bytes);
            write(out, "\r\n");
        }
        write(out, "--" + boundary + "--\r\n");
        return out.toByteArray();
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }
}
