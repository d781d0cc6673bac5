<?php

declare(strict_types=1);

namespace Wajah\Sdk;

/**
 * `/api/webhooks/…`: endpoints and delivery logs.
 *
 *     $ep = $client->webhooks->endpoints->create('https://app.example/hooks', ['authentication.success']);
 *     $failed = $client->webhooks->logs->list(['status' => 'failed']);
 */
final class Webhooks
{
    public readonly WebhookEndpoints $endpoints;
    public readonly WebhookLogs $logs;

    /** Every event the server sends (docs/webhooks.md). */
    public const EVENTS = [
        'enrollment.completed', 'enrollment.failed',
        'authentication.success', 'authentication.failed', 'liveness.failed',
        'user.created', 'user.updated',
    ];

    public function __construct(Transport $http)
    {
        $this->endpoints = new WebhookEndpoints($http);
        $this->logs = new WebhookLogs($http);
    }
}
