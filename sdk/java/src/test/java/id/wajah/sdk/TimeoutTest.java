package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * The client's timeout bounds the whole answer: a server (or a proxy) that sends the headers and then stalls
 * the body must give TIMEOUT, not hang the caller. The stalling server is the JDK's own, on a free port.
 */
class TimeoutTest {
    @Test
    void aStalledBodyIsATimeoutNotAHang() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, 100); // 100 bytes announced, 10 sent
            OutputStream out = exchange.getResponseBody();
            out.write("{\"status\":".getBytes(StandardCharsets.UTF_8));
            out.flush();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        server.start();
        try {
            WajahClient c = WajahClient.builder().baseUrl("http://127.0.0.1:" + server.getAddress().getPort() + "/api")
                    .apiKey("wk_x").secretKey("wsk_x").timeout(Duration.ofSeconds(1)).maxRetries(0).build();
            long t0 = System.nanoTime();
            WajahException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(WajahException.Transport.class, c::status),
                    "the call must end within its timeout, not wait for a body that never comes");
            double elapsed = (System.nanoTime() - t0) / 1e9;
            assertEquals(WajahException.TIMEOUT, e.code(), e.toString());
            assertEquals(0, e.statusCode());
            assertTrue(elapsed >= 0.9 && elapsed < 5, "ended at the 1 s timeout: " + elapsed);
        } finally {
            release.countDown();
            server.stop(0);
        }
    }
}
