package id.wajah.sdk;

import java.util.List;
import java.util.function.Function;

/** One page of a list: {@code results} and the totals. */
public record Page<T>(long count, long page, long pageSize, long totalPages, List<T> results) {
    static <T> Page<T> of(Object parsed, Function<Object, T> item) {
        JsonObject o = JsonObject.of(parsed);
        return new Page<>(o.integer("count"), o.integer("page"), o.integer("page_size"), o.integer("total_pages"),
                o.array("results").stream().map(item).toList());
    }
}
