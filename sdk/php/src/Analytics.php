<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\WajahException;

/**
 * `/api/analytics/…`: the calling client's figures (the server's docs/analytics.md describes each one).
 * `$period` is a period name (`today`, `last_7_days`, …) or `start_date`/`end_date` (YYYY-MM-DD or ISO).
 *
 *     $dash = $client->analytics->dashboard(['period' => 'last_7_days']);
 *     echo $dash['metrics']['total_authentications'];
 */
final class Analytics
{
    public function __construct(private readonly Transport $http)
    {
    }

    /** @param array{period?: string, start_date?: string, end_date?: string} $period @return array<string, mixed> @throws WajahException */
    public function dashboard(array $period = []): array
    {
        return $this->http->request('GET', '/analytics/dashboard/', query: $period);
    }

    /** Time series: hourly up to 24 h, daily otherwise. @param array{period?: string, start_date?: string, end_date?: string} $period @return array<string, mixed> @throws WajahException */
    public function statistics(array $period = []): array
    {
        return $this->http->request('GET', '/analytics/statistics/', query: $period);
    }

    /** @param array{period?: string, start_date?: string, end_date?: string} $period @return array<string, mixed> @throws WajahException */
    public function userBehavior(array $period = []): array
    {
        return $this->http->request('GET', '/analytics/user-behavior/', query: $period);
    }

    /** Live host, engine, database and request metrics. @return array<string, mixed> @throws WajahException */
    public function systemMetrics(): array
    {
        return $this->http->request('GET', '/analytics/system-metrics/');
    }

    /** @param array{period?: string, start_date?: string, end_date?: string} $period @return array<string, mixed> @throws WajahException */
    public function modelPerformance(array $period = []): array
    {
        return $this->http->request('GET', '/analytics/model-performance/', query: $period);
    }

    /** @param array<string, string|int> $query page, page_size, category, period, start_date, end_date @return array<string, mixed> @throws WajahException */
    public function auditLogs(array $query = []): array
    {
        return $this->http->request('GET', '/analytics/audit-logs/', query: $query);
    }
}
