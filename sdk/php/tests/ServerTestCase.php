<?php

declare(strict_types=1);

namespace Wajah\Sdk\Tests;

use PHPUnit\Framework\TestCase;
use Wajah\Sdk\Client;
use Wajah\Sdk\Exception\WajahException;

/**
 * Tests against a real Wajah server with the real face engine. test/sdk-php/php-client.test.ts starts
 * one and sets WAJAH_BASE_URL, WAJAH_API_KEY, WAJAH_SECRET_KEY, WAJAH_TEST_DATA (and the receiver,
 * flaky server and server-signed body variables). Without them these tests fail: there is no skip.
 */
abstract class ServerTestCase extends TestCase
{
    protected const FR = 'faces_extra/face_recognition';

    protected Client $client;
    /** @var list<string> */
    private array $users = [];

    protected static function env(string $name): string
    {
        $v = getenv($name);
        if ($v === false || $v === '') {
            throw new \RuntimeException("$name is not set: run test/sdk-php/php-client.test.ts, which starts a server");
        }
        return $v;
    }

    protected static function photo(string $who, int $n): string
    {
        return self::env('WAJAH_TEST_DATA') . '/' . self::FR . sprintf('/%s/%s_%02d.jpg', $who, $who, $n);
    }

    protected function setUp(): void
    {
        $this->client = new Client(self::env('WAJAH_BASE_URL'), self::env('WAJAH_API_KEY'), self::env('WAJAH_SECRET_KEY'), timeout: 120);
    }

    /** A user with a unique external id, deleted (with all face data) when the test ends. */
    protected function newUser(string $prefix, string $name, array $options = []): string
    {
        $ext = $prefix . '-' . bin2hex(random_bytes(4));
        $this->client->users->create($ext, $name, $options);
        $this->users[] = $ext;
        return $ext;
    }

    protected function tearDown(): void
    {
        foreach ($this->users as $ext) {
            try {
                $this->client->users->delete($ext);
            } catch (WajahException $e) {
                if ($e->getCode() !== 'USER_NOT_FOUND') {
                    throw $e;
                }
            }
        }
    }

    /** Runs $fn and returns the exception, checking its class, stable code and HTTP status. */
    protected function expectCode(string $class, string $code, int $status, callable $fn): WajahException
    {
        try {
            $fn();
        } catch (WajahException $e) {
            $this->assertInstanceOf($class, $e);
            $this->assertSame([$code, $status], [$e->getCode(), $e->getStatusCode()], $e->getMessage());
            return $e;
        }
        $this->fail("expected $code");
    }
}
