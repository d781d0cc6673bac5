<?php

declare(strict_types=1);

namespace Wajah\Sdk\Tests;

use Wajah\Sdk\Exception\NotFoundException;
use Wajah\Sdk\Exception\ValidationException;
use Wajah\Sdk\Webhooks;
use Wajah\Sdk\WebhookSignature;

/** Real deliveries land on a receiver the Node test runs (WAJAH_RECEIVER_URL; GET /captured lists them). */
final class WebhooksTest extends ServerTestCase
{
    private const SECRET = 'webhook_secret_key_123_php';

    /** @return array{headers: array<string, string>, body: string} */
    /** The first delivery of $event on $path (whose body mentions $mention, when given: an event recorded just
     * before the endpoint existed may still be fanned out to it). */
    private function delivery(string $path, string $event, ?string $mention = null): array
    {
        $end = microtime(true) + 15;
        do {
            $all = json_decode((string) file_get_contents(self::env('WAJAH_RECEIVER_URL') . '/captured'), true);
            foreach ($all as $d) {
                if ($d['path'] === $path && ($d['headers']['x-event-type'] ?? '') === $event && ($mention === null || str_contains(base64_decode($d['body_base64']), $mention))) {
                    return ['headers' => $d['headers'], 'body' => base64_decode($d['body_base64'])];
                }
            }
            usleep(100_000);
        } while (microtime(true) < $end);
        $this->fail("no $event delivery on $path");
    }

    public function testEndpointCrudRealSignedDeliveriesAndLogs(): void
    {
        $path = '/php-' . bin2hex(random_bytes(4));
        $url = self::env('WAJAH_RECEIVER_URL') . $path;
        $ep = $this->client->webhooks->endpoints->create($url, ['user.created', 'user.updated'], ['secret' => self::SECRET, 'retry_policy' => ['max_retries' => 1, 'backoff_strategy' => 'fixed', 'retry_delay' => 1]]);
        $this->assertSame([$url, ['user.created', 'user.updated'], true], [$ep['url'], $ep['events'], $ep['secret_set']]);
        $this->assertSame($ep, $this->client->webhooks->endpoints->get($ep['id']));
        $this->assertContains($ep['id'], array_column($this->client->webhooks->endpoints->list(['page_size' => 100])['results'], 'id'));

        $ext = $this->newUser('hook', 'Zoë Ñandú');
        $got = $this->delivery($path, 'user.created', $ext);
        $this->assertTrue(WebhookSignature::verify($got['body'], $got['headers']['x-signature'], self::SECRET));
        $this->assertFalse(WebhookSignature::verify($got['body'], $got['headers']['x-signature'], self::SECRET . '-other'));
        $this->assertFalse(WebhookSignature::verify(str_replace('Zo', 'Jo', $got['body']), $got['headers']['x-signature'], self::SECRET));
        $body = json_decode($got['body'], true);
        $this->assertSame(['user.created', $ext, 'Zoë Ñandú'], [$body['event'], $body['data']['user_id'], $body['data']['name']]);

        $patched = $this->client->webhooks->endpoints->update($ep['id'], ['events' => ['user.updated']]);
        $this->assertSame(['user.updated'], $patched['events']);
        $replaced = $this->client->webhooks->endpoints->replace($ep['id'], $url, Webhooks::EVENTS);
        $this->assertSame(Webhooks::EVENTS, $replaced['events']);

        $ping = $this->client->webhooks->endpoints->test($ep['id']);
        $this->assertSame(['webhook.test', 'delivered', $ep['id']], [$ping['event_type'], $ping['status'], $ping['endpoint_id']]);
        $first = $this->delivery($path, 'webhook.test');
        $this->assertTrue(WebhookSignature::verify($first['body'], $first['headers']['x-signature'], self::SECRET));
        $logs = $this->client->webhooks->logs->list(['endpoint_id' => $ep['id'], 'event_type' => 'webhook.test']);
        $this->assertSame([$ping['id']], array_column($logs['results'], 'id'));
        $this->assertSame($ping['id'], $this->client->webhooks->logs->get($ping['id'])['id']);
        $this->assertSame($ping['id'], $this->client->webhooks->logs->retry($ping['id'])['id']);

        $this->client->webhooks->endpoints->delete($ep['id']);
        $this->expectCode(NotFoundException::class, 'WEBHOOK_NOT_FOUND', 404, fn () => $this->client->webhooks->endpoints->get($ep['id']));
        $this->expectCode(ValidationException::class, 'INVALID_WEBHOOK_URL', 400, fn () => $this->client->webhooks->endpoints->create('ftp://example.com/x', ['user.created']));
    }

    /** A body and X-Signature made by the server's own serializer and signer (src/services/webhooks/signer.ts). */
    public function testVerifiesTheServersOwnSignature(): void
    {
        $body = base64_decode(self::env('WAJAH_SERVER_SIGNED_BODY'));
        $header = self::env('WAJAH_SERVER_SIGNATURE');
        $secret = self::env('WAJAH_SERVER_SIGNING_SECRET');
        $this->assertSame($header, WebhookSignature::sign($body, $secret));
        $this->assertTrue(WebhookSignature::verify($body, $header, $secret));
        $this->assertFalse(WebhookSignature::verify(substr($body, 0, -1) . ' ', $header, $secret));
        $this->assertFalse(WebhookSignature::verify($body, $header, substr($secret, 0, -1)));
        $this->assertFalse(WebhookSignature::verify($body, strtoupper($header), $secret));
        $this->assertFalse(WebhookSignature::verify($body, null, $secret));
        $this->assertFalse(WebhookSignature::verify($body, $header, ''));
    }
}
