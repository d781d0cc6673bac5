package id.wajah.sdk;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable JSON object of an API answer, with typed getters. Every result type keeps the whole
 * answer as a JsonObject ({@code raw()}), so fields the SDK does not model are still at hand.
 *
 * <pre>{@code JsonObject dash = client.analytics().dashboard(Map.of("period", "last_7_days"));
 * long total = dash.object("metrics").integer("total_authentications"); }</pre>
 */
public final class JsonObject {
    private final Map<String, Object> map;

    JsonObject(Map<String, Object> map) {
        this.map = map;
    }

    /** A parsed JSON object ({@code Json.parse(text)}) as a JsonObject. @throws IllegalArgumentException for other values */
    @SuppressWarnings("unchecked")
    public static JsonObject of(Object parsed) {
        if (parsed instanceof Map<?, ?> m) return new JsonObject((Map<String, Object>) m);
        throw new IllegalArgumentException("not a JSON object: " + Json.write(parsed));
    }

    /** The unmodifiable map underneath (nested objects as maps, arrays as lists). */
    public Map<String, Object> asMap() {
        return map;
    }

    public boolean has(String key) {
        return map.containsKey(key);
    }

    /** The raw value: String, Long, Double, Boolean, Map, List or null. */
    public Object get(String key) {
        return map.get(key);
    }

    /** @throws IllegalStateException when absent or not a string */
    public String string(String key) {
        if (map.get(key) instanceof String s) return s;
        throw missing(key, "a string");
    }

    /** Empty when absent or null. */
    public Optional<String> optString(String key) {
        return map.get(key) instanceof String s ? Optional.of(s) : Optional.empty();
    }

    public long integer(String key) {
        if (map.get(key) instanceof Number n) return n.longValue();
        throw missing(key, "a number");
    }

    public double number(String key) {
        if (map.get(key) instanceof Number n) return n.doubleValue();
        throw missing(key, "a number");
    }

    public Optional<Double> optNumber(String key) {
        return map.get(key) instanceof Number n ? Optional.of(n.doubleValue()) : Optional.empty();
    }

    public boolean bool(String key) {
        if (map.get(key) instanceof Boolean b) return b;
        throw missing(key, "a boolean");
    }

    public JsonObject object(String key) {
        if (map.get(key) instanceof Map<?, ?>) return of(map.get(key));
        throw missing(key, "an object");
    }

    public Optional<JsonObject> optObject(String key) {
        return map.get(key) instanceof Map<?, ?> ? Optional.of(of(map.get(key))) : Optional.empty();
    }

    @SuppressWarnings("unchecked")
    public List<Object> array(String key) {
        if (map.get(key) instanceof List<?> l) return (List<Object>) l;
        throw missing(key, "an array");
    }

    /** An array of objects. */
    public List<JsonObject> objects(String key) {
        return array(key).stream().map(JsonObject::of).toList();
    }

    /** An array of strings. */
    public List<String> strings(String key) {
        return array(key).stream().map(String.class::cast).toList();
    }

    private IllegalStateException missing(String key, String what) {
        return new IllegalStateException("'" + key + "' is not " + what + " in " + this);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JsonObject other && map.equals(other.map);
    }

    @Override
    public int hashCode() {
        return map.hashCode();
    }

    /** The JSON text. */
    @Override
    public String toString() {
        return Json.write(map);
    }
}
