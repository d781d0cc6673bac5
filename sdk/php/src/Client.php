<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\WajahException;

/**
 * The Wajah API client. Sends `Authorization: ApiKey KEY:SECRET` on every call; every failure throws a
 * WajahException whose getCode() is the server's stable code. 429 and 503 answers are retried
 * ($maxRetries times, exponential backoff, honouring Retry-After up to $maxRetryDelay seconds).
 *
 *     $client = new Client('http://localhost:8000/api', getenv('WAJAH_API_KEY'), getenv('WAJAH_SECRET_KEY'));
 *     $client->users->create('EMP001', 'John Doe');
 *     $client->enrollment->direct('EMP001', Image::fromPath('face.jpg'));
 *     $decision = $client->authenticate(Image::fromPath('probe.jpg'), 'EMP001');
 */
final class Client
{
    public readonly Users $users;
    public readonly Enrollment $enrollment;
    public readonly Authentication $authentication;
    public readonly Webhooks $webhooks;
    public readonly Analytics $analytics;
    private readonly Transport $http;

    /**
     * @param string $baseUrl the API base, e.g. https://faces.example.com/api; a bare origin means <origin>/api
     * @param float $timeout seconds per request
     * @param int $maxRetries retries of a 429/503 answer (0 disables)
     * @param float $maxRetryDelay a longer Retry-After is not waited for: the exception is thrown at once
     */
    public function __construct(string $baseUrl, string $apiKey, string $secretKey, float $timeout = 30.0, int $maxRetries = 2, float $maxRetryDelay = 30.0)
    {
        $this->http = new Transport($baseUrl, $apiKey, $secretKey, $timeout, $maxRetries, $maxRetryDelay);
        $this->users = new Users($this->http);
        $this->enrollment = new Enrollment($this->http);
        $this->authentication = new Authentication($this->http);
        $this->webhooks = new Webhooks($this->http);
        $this->analytics = new Analytics($this->http);
    }

    /** The resolved API base URL (`…/api`). */
    public function baseUrl(): string
    {
        return $this->http->base;
    }

    /** `GET /api/core/status/`. @return array<string, mixed> @throws WajahException */
    public function status(): array
    {
        return $this->http->request('GET', '/core/status/');
    }

    /**
     * The guide's shorthand: 1:1 verification when $userId is given, 1:N identification otherwise.
     *
     * @param array{confidence_threshold?: float, search_threshold?: float, max_results?: int} $options
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function authenticate(Image|string $image, ?string $userId = null, array $options = []): array
    {
        return $userId !== null ? $this->authentication->verify($userId, $image, $options) : $this->authentication->identify($image, $options);
    }

    /** Any other API route, with this client's credentials and error mapping. @param array<string, mixed>|null $query @param array<string, mixed>|null $json @throws WajahException */
    public function request(string $method, string $path, ?array $query = null, ?array $json = null): mixed
    {
        return $this->http->request($method, $path, query: $query, json: $json);
    }
}
