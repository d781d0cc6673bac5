package id.wajah.sdk;

import java.util.OptionalDouble;

/**
 * Every failure of the SDK: a checked exception whose {@link #code()} is the stable code, the server's
 * (docs/errors.md: USER_NOT_FOUND, RATE_LIMIT_EXCEEDED, …) or the SDK's own (NETWORK_ERROR, TIMEOUT,
 * UNEXPECTED_RESPONSE). Subclasses group answers by HTTP status so callers can catch a family.
 *
 * <pre>{@code try { client.users().get("EMP404"); }
 * catch (WajahException.NotFound e) { assert e.code().equals("USER_NOT_FOUND"); } }</pre>
 */
public class WajahException extends Exception {
    public static final String NETWORK_ERROR = "NETWORK_ERROR";
    public static final String TIMEOUT = "TIMEOUT";
    public static final String UNEXPECTED_RESPONSE = "UNEXPECTED_RESPONSE";

    private final String code;
    private final int statusCode;
    private final transient Object details;
    private final Double retryAfter;

    public WajahException(String code, String message, int statusCode, Object details, Double retryAfter, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.statusCode = statusCode;
        this.details = details;
        this.retryAfter = retryAfter;
    }

    /** The stable error code. */
    public String code() {
        return code;
    }

    /** The HTTP status; 0 when there was no HTTP answer. */
    public int statusCode() {
        return statusCode;
    }

    /** The server's {@code details}: a Map for objects (e.g. {field=page_size} for VALIDATION_ERROR), or null. */
    public Object details() {
        return details;
    }

    /** Seconds, from Retry-After. */
    public OptionalDouble retryAfter() {
        return retryAfter == null ? OptionalDouble.empty() : OptionalDouble.of(retryAfter);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + code + ", " + statusCode + "]: " + getMessage();
    }

    static WajahException fromResponse(String code, String message, int status, Object details, Double retryAfter) {
        return switch (status) {
            case 429, 503 -> new RateLimited(code, message, status, details, retryAfter);
            case 401, 403 -> new Unauthorized(code, message, status, details, retryAfter);
            case 404 -> new NotFound(code, message, status, details, retryAfter);
            case 409 -> new Conflict(code, message, status, details, retryAfter);
            case 400, 413, 415, 422 -> new Invalid(code, message, status, details, retryAfter);
            default -> new Api(code, message, status, details, retryAfter);
        };
    }

    /** The server answered with a coded error {code, message, statusCode, details}. */
    public static class Api extends WajahException {
        Api(String code, String message, int status, Object details, Double retryAfter) {
            super(code, message, status, details, retryAfter, null);
        }
    }

    /** 400/413/415/422: VALIDATION_ERROR, INVALID_IMAGE, POOR_IMAGE_QUALITY, NOT_ENROLLED, … */
    public static final class Invalid extends Api {
        Invalid(String code, String message, int status, Object details, Double retryAfter) {
            super(code, message, status, details, retryAfter);
        }
    }

    /** 401/403: INVALID_CREDENTIALS, IP_NOT_ALLOWED, PERMISSION_DENIED, … */
    public static final class Unauthorized extends Api {
        Unauthorized(String code, String message, int status, Object details, Double retryAfter) {
            super(code, message, status, details, retryAfter);
        }
    }

    /** 404: USER_NOT_FOUND, SESSION_NOT_FOUND, WEBHOOK_NOT_FOUND, … */
    public static final class NotFound extends Api {
        NotFound(String code, String message, int status, Object details, Double retryAfter) {
            super(code, message, status, details, retryAfter);
        }
    }

    /** 409: USER_EXISTS, SESSION_COMPLETED, … */
    public static final class Conflict extends Api {
        Conflict(String code, String message, int status, Object details, Double retryAfter) {
            super(code, message, status, details, retryAfter);
        }
    }

    /** 429 RATE_LIMIT_EXCEEDED or 503 SERVICE_BUSY left after the client's own retries; see retryAfter(). */
    public static final class RateLimited extends Api {
        RateLimited(String code, String message, int status, Object details, Double retryAfter) {
            super(code, message, status, details, retryAfter);
        }
    }

    /** No HTTP answer: NETWORK_ERROR (refused, DNS, reset) or TIMEOUT. statusCode() is 0. */
    public static final class Transport extends WajahException {
        Transport(String code, String message, Throwable cause) {
            super(code, message, 0, null, null, cause);
        }
    }
}
