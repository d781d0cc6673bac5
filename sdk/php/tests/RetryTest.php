<?php

declare(strict_types=1);

namespace Wajah\Sdk\Tests;

use Wajah\Sdk\Client;
use Wajah\Sdk\Exception\RateLimitException;

/**
 * Retries against WAJAH_FLAKY_URL, a server run by the Node test: `/<name>/api/core/status/` answers
 * 503 SERVICE_BUSY (Retry-After: 1), then 429 RATE_LIMIT_EXCEEDED (Retry-After: 1), then 200 with the
 * number of attempts it saw; under `/always-<name>/` it answers 503 (Retry-After: 0) every time.
 */
final class RetryTest extends ServerTestCase
{
    public function testRetries429And503HonouringRetryAfter(): void
    {
        $client = new Client(self::env('WAJAH_FLAKY_URL') . '/php-' . bin2hex(random_bytes(4)) . '/api', 'wk_x', 'wsk_x');
        $t0 = microtime(true);
        $status = $client->status();
        $elapsed = microtime(true) - $t0;
        $this->assertSame(3, $status['attempts']);
        $this->assertGreaterThanOrEqual(1.9, $elapsed, 'waited Retry-After (1 s) twice');
        $this->assertLessThan(10, $elapsed);
    }

    public function testGivesUpAfterMaxRetries(): void
    {
        $name = 'always-php-' . bin2hex(random_bytes(4));
        $client = new Client(self::env('WAJAH_FLAKY_URL') . "/$name/api", 'wk_x', 'wsk_x', maxRetries: 3);
        $e = $this->expectCode(RateLimitException::class, 'SERVICE_BUSY', 503, fn () => $client->status());
        $this->assertSame(0.0, $e->getRetryAfter());
        $count = json_decode((string) file_get_contents(self::env('WAJAH_FLAKY_URL') . "/$name/count"), true);
        $this->assertSame(4, $count['attempts'], 'one call and three retries');

        $noRetry = new Client(self::env('WAJAH_FLAKY_URL') . "/$name-0/api", 'wk_x', 'wsk_x', maxRetries: 0);
        $this->expectCode(RateLimitException::class, 'SERVICE_BUSY', 503, fn () => $noRetry->status());
        $this->assertSame(1, json_decode((string) file_get_contents(self::env('WAJAH_FLAKY_URL') . "/$name-0/count"), true)['attempts']);
    }
}
