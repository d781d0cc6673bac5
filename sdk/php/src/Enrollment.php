<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\WajahException;

/**
 * `/api/auth/enrollment/…` and `/api/auth/enrollments/…`. Bytes and files go as multipart parts,
 * data URLs in a JSON body.
 *
 *     $client->enrollment->direct('EMP001', Image::fromPath('face.jpg'), ['quality_threshold' => 0.6]);
 */
final class Enrollment
{
    public function __construct(private readonly Transport $http)
    {
    }

    /**
     * Starts a frame session; keep `session_token` for the frames.
     *
     * @param array{session_type?: string, quality_threshold?: float, require_multiple_angles?: bool, timeout?: int, auto_capture?: bool, guidance_enabled?: bool} $options
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function create(string $userId, array $options = []): array
    {
        return $this->http->request('POST', '/auth/enrollment/create/', json: ['user_id' => $userId] + $options);
    }

    /**
     * Sends one frame of the session. The answer's `status` is `ready` once enough frames are in.
     *
     * @param array<string, mixed>|null $frameMetadata
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function processFrame(string $sessionToken, Image|string $frame, ?array $frameMetadata = null): array
    {
        $frame = Image::of($frame);
        $headers = ['X-Session-Token' => $sessionToken];
        if ($frame->isBinary()) {
            return $this->http->request('POST', '/auth/enrollment/process-frame/', form: [['frame_metadata' => $frameMetadata], [['frame', $frame]]], headers: $headers);
        }
        return $this->http->request('POST', '/auth/enrollment/process-frame/', json: array_filter(['frame' => $frame->text, 'frame_metadata' => $frameMetadata], static fn ($v) => $v !== null), headers: $headers);
    }

    /** @return array<string, mixed> the enrollment: status, enrollment_id, user_id, quality_metrics, created_at @throws WajahException */
    public function complete(string $sessionToken): array
    {
        return $this->http->request('POST', '/auth/enrollment/complete/', headers: ['X-Session-Token' => $sessionToken]);
    }

    /**
     * Enrolls from one image.
     *
     * @param array{quality_threshold?: float} $options
     * @return array<string, mixed>
     * @throws WajahException POOR_IMAGE_QUALITY, NO_FACE_DETECTED, MULTIPLE_FACES, USER_NOT_FOUND, …
     */
    public function direct(string $userId, Image|string $image, array $options = []): array
    {
        $image = Image::of($image);
        if ($image->isBinary()) {
            return $this->http->request('POST', '/auth/enrollment/direct/', form: [['user_id' => $userId] + $options, [['image', $image]]]);
        }
        return $this->http->request('POST', '/auth/enrollment/direct/', json: ['user_id' => $userId, 'image' => $image->text] + $options);
    }

    /**
     * Enrolls many users/images at once; images of one user become one enrollment.
     *
     * @param list<array{0: string, 1: Image|string}> $items pairs of [userId, image]
     * @param array{quality_threshold?: float} $options
     * @return array{total: int, completed: int, failed: int, results: list<array<string, mixed>>}
     * @throws WajahException
     */
    public function batch(array $items, array $options = []): array
    {
        $userIds = [];
        $files = [];
        foreach ($items as [$userId, $image]) {
            $userIds[] = $userId;
            $files[] = ['images', Image::of($image)];
        }
        return $this->http->request('POST', '/auth/enrollment/batch/', form: [['user_ids' => $userIds] + $options, $files]);
    }

    /** A user's enrollments. @return array<string, mixed> {user_id, count, enrollments} @throws WajahException */
    public function list(string $userId): array
    {
        return $this->http->request('GET', '/auth/enrollments/', query: ['user_id' => $userId]);
    }

    /** Deletes one enrollment; its templates leave the search at once. @return array<string, mixed> @throws WajahException */
    public function delete(string $enrollmentId): array
    {
        return $this->http->request('DELETE', '/auth/enrollments/' . Transport::seg($enrollmentId) . '/');
    }
}
