package id.wajah.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SDK's own JSON reader and writer (no server needed). */
class JsonTest {
    @Test
    void roundTripsTheShapesTheApiUses() {
        String text = "{\"a\":[1,-2.5,true,false,null],\"s\":\"Zo\\u00eb \\\"q\\\" \\n\",\"o\":{},\"l\":[],\"e\":1e3,\"big\":12345678901234}";
        Map<?, ?> m = (Map<?, ?>) Json.parse(text);
        assertEquals(Arrays.asList(1L, -2.5, true, false, null), m.get("a"));
        assertEquals("Zoë \"q\" \n", m.get("s"));
        assertEquals(Map.of(), m.get("o"));
        assertEquals(1000.0, m.get("e"));
        assertEquals(12345678901234L, m.get("big"));
        assertEquals(m, Json.parse(Json.write(m)));
        Map<String, Object> ordered = new LinkedHashMap<>();
        ordered.put("b", List.of(1, 2.5, "x"));
        ordered.put("a", null);
        assertEquals("{\"b\":[1,2.5,\"x\"],\"a\":null}", Json.write(ordered));
        assertEquals("\"\\u0001\"", Json.write("\u0001"));
    }

    @Test
    void refusesMalformedText() {
        for (String bad : List.of("", "{", "{\"a\" 1}", "[1,]", "tru", "\"open", "{} x", "01x")) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
    }
}
