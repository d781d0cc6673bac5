package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** Retry-After as the Python and PHP clients read it: seconds (never below 0) or an HTTP date; anything else is absent. */
class RetryAfterTest {
    @Test
    void secondsDatesAndNonsense() {
        assertEquals(5.0, Transport.parseRetryAfter(" 5 "));
        assertEquals(0.0, Transport.parseRetryAfter("-3"));
        assertEquals(0.0, Transport.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), "a date in the past: at once");
        assertNull(Transport.parseRetryAfter(null));
        assertNull(Transport.parseRetryAfter("soon"));
        // NaN is not a number of seconds: read as one, the client retried at once and handed NaN to the caller.
        assertNull(Transport.parseRetryAfter("NaN"));
    }
}
