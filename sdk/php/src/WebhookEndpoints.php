<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\WajahException;

/** `/api/webhooks/endpoints/…`. */
final class WebhookEndpoints
{
    public function __construct(private readonly Transport $http)
    {
    }

    /**
     * The answer carries `secret` once, when the server generated it (no `secret` in $options).
     *
     * @param list<string> $events see Webhooks::EVENTS
     * @param array{secret?: string, is_active?: bool, retry_policy?: array{max_retries?: int, backoff_strategy?: string, retry_delay?: int}} $options
     * @return array<string, mixed> {id, url, events, is_active, retry_policy, secret_set, created_at, updated_at, secret?}
     * @throws WajahException INVALID_WEBHOOK_URL, VALIDATION_ERROR, …
     */
    public function create(string $url, array $events, array $options = []): array
    {
        return $this->http->request('POST', '/webhooks/endpoints/', json: ['url' => $url, 'events' => $events] + $options);
    }

    /** @param array{page?: int, page_size?: int} $query @return array<string, mixed> a page @throws WajahException */
    public function list(array $query = []): array
    {
        return $this->http->request('GET', '/webhooks/endpoints/', query: $query);
    }

    /** @return array<string, mixed> @throws WajahException WEBHOOK_NOT_FOUND */
    public function get(string $id): array
    {
        return $this->http->request('GET', '/webhooks/endpoints/' . Transport::seg($id) . '/');
    }

    /**
     * PUT: an omitted secret is kept, omitted is_active/retry_policy go back to their defaults.
     *
     * @param list<string> $events
     * @param array{secret?: string, is_active?: bool, retry_policy?: array<string, mixed>} $options
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function replace(string $id, string $url, array $events, array $options = []): array
    {
        return $this->http->request('PUT', '/webhooks/endpoints/' . Transport::seg($id) . '/', json: ['url' => $url, 'events' => $events] + $options);
    }

    /**
     * PATCH: only the fields given change; send `secret` to rotate it.
     *
     * @param array{url?: string, events?: list<string>, secret?: string, is_active?: bool, retry_policy?: array<string, mixed>} $changes
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function update(string $id, array $changes): array
    {
        return $this->http->request('PATCH', '/webhooks/endpoints/' . Transport::seg($id) . '/', json: $changes === [] ? new \stdClass() : $changes);
    }

    /** Deletes the endpoint and its delivery logs. @throws WajahException */
    public function delete(string $id): void
    {
        $this->http->request('DELETE', '/webhooks/endpoints/' . Transport::seg($id) . '/');
    }

    /** Sends a signed `webhook.test` ping now; answers the delivery log after its first attempt. @return array<string, mixed> @throws WajahException */
    public function test(string $id): array
    {
        return $this->http->request('POST', '/webhooks/endpoints/' . Transport::seg($id) . '/test/');
    }
}
