<?php

declare(strict_types=1);

namespace Wajah\Sdk\Tests;

use Wajah\Sdk\Client;
use Wajah\Sdk\Exception\AuthenticationException;
use Wajah\Sdk\Exception\ConflictException;
use Wajah\Sdk\Exception\NotFoundException;
use Wajah\Sdk\Exception\RateLimitException;
use Wajah\Sdk\Exception\TransportException;
use Wajah\Sdk\Exception\ValidationException;
use Wajah\Sdk\Exception\WajahException;

final class UsersAndErrorsTest extends ServerTestCase
{
    public function testStatus(): void
    {
        $status = $this->client->status();
        $this->assertContains($status['status'], ['healthy', 'degraded']);
        $this->assertSame('online', $status['services']['face_recognition']);
        $this->assertStringEndsWith('/api', $this->client->baseUrl());
    }

    public function testUserLifecycle(): void
    {
        $ext = 'EMP-' . bin2hex(random_bytes(4));
        $created = $this->client->users->create($ext, 'Zoë Doe', ['email' => 'zoe.doe@company.com', 'metadata' => ['department' => 'IT']]);
        $this->assertSame([$ext, 'Zoë Doe', true, 0, null], [$created['external_id'], $created['name'], $created['is_active'], $created['enrollments_count'], $created['last_authentication']]);
        $this->assertSame($created, $this->client->users->get($created['id']));
        $this->assertSame($created['id'], $this->client->users->get($ext)['id']);

        $page = $this->client->users->list(['search' => 'zoe.doe@company', 'page_size' => 10]);
        $this->assertSame(['count', 'page', 'page_size', 'results', 'total_pages'], self::sortedKeys($page));
        $this->assertSame([$ext], array_column($page['results'], 'external_id'));

        $updated = $this->client->users->update($ext, ['name' => 'Zoë Q. Doe', 'metadata' => ['department' => 'HR']]);
        $this->assertSame(['Zoë Q. Doe', ['department' => 'HR'], 'zoe.doe@company.com'], [$updated['name'], $updated['metadata'], $updated['email']]);
        $this->assertNull($this->client->users->update($ext, ['email' => null])['email']);
        $this->assertFalse($this->client->users->deactivate($ext)['is_active']);
        $this->assertContains($ext, array_column($this->client->users->list(['is_active' => false, 'page_size' => 100])['results'], 'external_id'));
        $this->assertTrue($this->client->users->activate($ext)['is_active']);
        $exported = $this->client->users->export($ext);
        $this->assertSame($created['id'], $exported['user']['id']);
        $this->assertArrayHasKey('face_templates', $exported);

        $this->client->users->delete($ext);
        $this->expectCode(NotFoundException::class, 'USER_NOT_FOUND', 404, fn () => $this->client->users->get($ext));
    }

    public function testServerErrorCodes(): void
    {
        $e = $this->expectCode(NotFoundException::class, 'USER_NOT_FOUND', 404, fn () => $this->client->users->get('nobody-' . bin2hex(random_bytes(6))));
        $this->assertNull($e->getRetryAfter());
        $this->assertSame('USER_NOT_FOUND', $e->getErrorCode());

        $ext = $this->newUser('DUP', 'Dup');
        $this->expectCode(ConflictException::class, 'USER_EXISTS', 409, fn () => $this->client->users->create($ext, 'Dup'));
        $e = $this->expectCode(ValidationException::class, 'VALIDATION_ERROR', 400, fn () => $this->client->users->list(['page_size' => 1000]));
        $this->assertSame('page_size', $e->getDetails()['field']);

        $wrong = new Client(self::env('WAJAH_BASE_URL'), self::env('WAJAH_API_KEY'), 'wsk_wrong');
        $this->expectCode(AuthenticationException::class, 'INVALID_CREDENTIALS', 401, fn () => $wrong->users->list());
    }

    public function testRateLimitCarriesRetryAfterWithoutWaitingAnHour(): void
    {
        $limited = new Client(self::env('WAJAH_BASE_URL'), self::env('WAJAH_LIMITED_API_KEY'), self::env('WAJAH_LIMITED_SECRET_KEY'));
        $limited->users->list();
        $t0 = microtime(true);
        $e = $this->expectCode(RateLimitException::class, 'RATE_LIMIT_EXCEEDED', 429, fn () => $limited->users->list());
        $this->assertGreaterThan(0, $e->getRetryAfter());
        $this->assertLessThanOrEqual(3600, $e->getRetryAfter());
        $this->assertLessThan(5, microtime(true) - $t0, 'a Retry-After beyond maxRetryDelay is thrown at once');
    }

    public function testNoServerIsANetworkError(): void
    {
        $sock = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($sock, false), ':'), 1);
        fclose($sock);
        $none = new Client("http://127.0.0.1:$port", 'wk_x', 'wsk_x');
        $this->expectCode(TransportException::class, WajahException::NETWORK_ERROR, 0, fn () => $none->status());
    }

    public function testAnalytics(): void
    {
        $dash = $this->client->analytics->dashboard(['period' => 'last_7_days']);
        $this->assertSame('last_7_days', $dash['period']);
        $this->assertIsInt($dash['metrics']['total_authentications']);
        $this->assertArrayHasKey('series', $this->client->analytics->statistics(['period' => 'today']));
        $this->assertArrayHasKey('time_patterns', $this->client->analytics->userBehavior());
        $this->assertArrayHasKey('metrics', $this->client->analytics->systemMetrics());
        $this->assertArrayHasKey('confidence_distribution', $this->client->analytics->modelPerformance());
        $this->assertArrayHasKey('results', $this->client->analytics->auditLogs(['page_size' => 5]));
        $this->expectCode(ValidationException::class, 'VALIDATION_ERROR', 400, fn () => $this->client->analytics->dashboard(['period' => 'fortnight']));
    }

    /** @param array<string, mixed> $a @return list<string> */
    private static function sortedKeys(array $a): array
    {
        $k = array_keys($a);
        sort($k);
        return $k;
    }
}
