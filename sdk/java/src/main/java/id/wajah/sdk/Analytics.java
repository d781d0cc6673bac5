package id.wajah.sdk;

import java.util.Map;

/**
 * {@code /api/analytics/…}: the calling client's figures (the server's docs/analytics.md describes each).
 * {@code period}: {@code Map.of("period", "last_7_days")} (today, last_24_hours, last_7_days, last_30_days,
 * last_90_days) or start_date/end_date (YYYY-MM-DD or ISO).
 *
 * <pre>{@code long total = client.analytics().dashboard(Map.of("period", "last_7_days")).object("metrics").integer("total_authentications"); }</pre>
 */
public final class Analytics {
    private final Transport http;

    Analytics(Transport http) {
        this.http = http;
    }

    public JsonObject dashboard(Map<String, ?> period) throws WajahException {
        return get("/analytics/dashboard/", period);
    }

    /** Time series: hourly up to 24 h, daily otherwise. */
    public JsonObject statistics(Map<String, ?> period) throws WajahException {
        return get("/analytics/statistics/", period);
    }

    public JsonObject userBehavior(Map<String, ?> period) throws WajahException {
        return get("/analytics/user-behavior/", period);
    }

    /** Live host, engine, database and request metrics. */
    public JsonObject systemMetrics() throws WajahException {
        return get("/analytics/system-metrics/", null);
    }

    public JsonObject modelPerformance(Map<String, ?> period) throws WajahException {
        return get("/analytics/model-performance/", period);
    }

    /** @param query page, page_size, category, period, start_date, end_date */
    public JsonObject auditLogs(Map<String, ?> query) throws WajahException {
        return get("/analytics/audit-logs/", query);
    }

    private JsonObject get(String path, Map<String, ?> query) throws WajahException {
        return JsonObject.of(http.request("GET", path, query, null, null, null));
    }
}
