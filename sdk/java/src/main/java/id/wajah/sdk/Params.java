package id.wajah.sdk;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Building request bodies: required fields first, then the caller's options (snake_case API names). */
final class Params {
    private Params() {
    }

    static Map<String, Object> of(Map<String, ?> options, Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        if (options != null) m.putAll(options);
        return m;
    }

    static List<Map.Entry<String, Image>> files(String field, Image image) {
        return List.of(Map.entry(field, image));
    }
}
