package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;

/**
 * Tests against a real Wajah server with the real face engine. test/sdk-java/java-client.test.ts starts
 * one and sets WAJAH_BASE_URL, WAJAH_API_KEY, WAJAH_SECRET_KEY, WAJAH_TEST_DATA (and the receiver, flaky
 * server and server-signed body variables). Without them these tests fail: there is no skip.
 */
abstract class ServerTestBase {
    interface Call {
        void run() throws Exception;
    }

    final WajahClient client = WajahClient.builder().baseUrl(env("WAJAH_BASE_URL")).apiKey(env("WAJAH_API_KEY"))
            .secretKey(env("WAJAH_SECRET_KEY")).timeout(Duration.ofSeconds(120)).build();
    private final List<String> users = new ArrayList<>();

    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) throw new IllegalStateException(name + " is not set: run test/sdk-java/java-client.test.ts, which starts a server");
        return v;
    }

    static Path photo(String who, int n) {
        return Path.of(env("WAJAH_TEST_DATA"), "faces_extra/face_recognition", who, String.format("%s_%02d.jpg", who, n));
    }

    static String random() {
        byte[] b = new byte[4];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** A user with a unique external id, deleted (with all face data) when the test ends. */
    String newUser(String prefix, String name, Map<String, ?> options) throws WajahException {
        String ext = prefix + "-" + random();
        client.users().create(ext, name, options);
        users.add(ext);
        return ext;
    }

    @AfterEach
    void deleteUsers() throws WajahException {
        for (String ext : users) {
            try {
                client.users().delete(ext);
            } catch (WajahException.NotFound gone) {
                // deleted by the test itself
            }
        }
    }

    /** Runs fn and returns the exception, checking its class, stable code and HTTP status. */
    static <E extends WajahException> E expectCode(Class<E> type, String code, int status, Call fn) {
        try {
            fn.run();
        } catch (Exception e) {
            E typed = assertInstanceOf(type, e);
            assertEquals(List.of(code, status), List.of(typed.code(), typed.statusCode()), e.toString());
            return typed;
        }
        return fail("expected " + code);
    }
}
