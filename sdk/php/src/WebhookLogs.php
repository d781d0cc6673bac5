<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\WajahException;

/** `/api/webhooks/logs/…`: deliveries, newest first. */
final class WebhookLogs
{
    public function __construct(private readonly Transport $http)
    {
    }

    /**
     * @param array{page?: int, page_size?: int, event_type?: string, status?: string, endpoint_id?: string, start_date?: string, end_date?: string} $query
     * @return array<string, mixed> a page of deliveries
     * @throws WajahException
     */
    public function list(array $query = []): array
    {
        return $this->http->request('GET', '/webhooks/logs/', query: $query);
    }

    /** One delivery, with the body sent. @return array<string, mixed> @throws WajahException WEBHOOK_LOG_NOT_FOUND */
    public function get(string $logId): array
    {
        return $this->http->request('GET', '/webhooks/logs/' . Transport::seg($logId) . '/');
    }

    /** Re-queues a delivery for an immediate attempt with a fresh retry budget (HTTP 202). @return array<string, mixed> @throws WajahException */
    public function retry(string $logId): array
    {
        return $this->http->request('POST', '/webhooks/logs/' . Transport::seg($logId) . '/retry/');
    }
}
