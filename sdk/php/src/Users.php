<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\WajahException;

/**
 * `/api/clients/users/…`. Every `$userId` is the user's uuid or your external_id.
 *
 *     $user = $client->users->create('EMP001', 'John Doe', ['email' => 'john.doe@company.com']);
 */
final class Users
{
    public function __construct(private readonly Transport $http)
    {
    }

    /**
     * @param array{email?: string|null, metadata?: array<string, mixed>} $options
     * @return array<string, mixed> the user: id, external_id, name, email, metadata, is_active, created_at, updated_at, enrollments_count, last_authentication
     * @throws WajahException USER_EXISTS, VALIDATION_ERROR, …
     */
    public function create(string $externalId, string $name, array $options = []): array
    {
        return $this->http->request('POST', '/clients/users/', json: ['external_id' => $externalId, 'name' => $name] + $options);
    }

    /**
     * @param array{page?: int, page_size?: int, search?: string, is_active?: bool, has_enrollment?: bool} $query
     * @return array{count: int, page: int, page_size: int, total_pages: int, results: list<array<string, mixed>>}
     * @throws WajahException
     */
    public function list(array $query = []): array
    {
        return $this->http->request('GET', '/clients/users/', query: $query);
    }

    /**
     * @return array<string, mixed>
     * @throws WajahException USER_NOT_FOUND
     */
    public function get(string $userId): array
    {
        return $this->http->request('GET', '/clients/users/' . Transport::seg($userId) . '/');
    }

    /**
     * @param array{external_id?: string, name?: string, email?: string|null, metadata?: array<string, mixed>, is_active?: bool} $changes
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function update(string $userId, array $changes): array
    {
        // An empty PHP array encodes as [], not {}: send an object for "no changes".
        return $this->http->request('PUT', '/clients/users/' . Transport::seg($userId) . '/', json: $changes === [] ? new \stdClass() : $changes);
    }

    /** Deletes the user and all their face data (right to deletion). @throws WajahException */
    public function delete(string $userId): void
    {
        $this->http->request('DELETE', '/clients/users/' . Transport::seg($userId) . '/');
    }

    /** @return array<string, mixed> @throws WajahException */
    public function activate(string $userId): array
    {
        return $this->http->request('POST', '/clients/users/' . Transport::seg($userId) . '/activate/');
    }

    /** A deactivated user cannot enroll or authenticate; their data is kept. @return array<string, mixed> @throws WajahException */
    public function deactivate(string $userId): array
    {
        return $this->http->request('POST', '/clients/users/' . Transport::seg($userId) . '/deactivate/');
    }

    /** Everything held on the user, embeddings included (portability). @return array<string, mixed> @throws WajahException */
    public function export(string $userId): array
    {
        return $this->http->request('GET', '/clients/users/' . Transport::seg($userId) . '/export/');
    }
}
