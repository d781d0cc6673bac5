package id.wajah.sdk;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Each delivery carries {@code X-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>}, keyed with
 * the endpoint secret. Verify against the raw body bytes, before you parse them.
 *
 * <pre>{@code if (!WebhookSignature.verify(rawBody, request.getHeader("X-Signature"), secret)) return 401; }</pre>
 */
public final class WebhookSignature {
    private static final Pattern HEADER = Pattern.compile("^sha256=[0-9a-f]{64}$");

    private WebhookSignature() {
    }

    /** True when {@code header} signs {@code rawBody} under {@code secret}; compared in constant time. */
    public static boolean verify(byte[] rawBody, String header, String secret) {
        if (header == null || secret == null || secret.isEmpty() || !HEADER.matcher(header.trim()).matches()) return false;
        return MessageDigest.isEqual(sign(rawBody, secret).getBytes(StandardCharsets.US_ASCII), header.trim().getBytes(StandardCharsets.US_ASCII));
    }

    /** The body as received, UTF-8. */
    public static boolean verify(String rawBody, String header, String secret) {
        return verify(rawBody.getBytes(StandardCharsets.UTF_8), header, secret);
    }

    /** The header value the server sends for this body and secret (for testing your receiver). */
    public static String sign(byte[] rawBody, String secret) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return "sha256=" + HexFormat.of().formatHex(mac.doFinal(rawBody));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    public static String sign(String rawBody, String secret) {
        return sign(rawBody.getBytes(StandardCharsets.UTF_8), secret);
    }
}
