<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\WajahException;

/**
 * `/api/auth/authentication/…`: sessions (with server-driven liveness) and one-shot verify/identify.
 * A face that does not match is not an exception: the answer has `status` `failed` and
 * `result.failure_reason` (LOW_CONFIDENCE, NO_MATCH, LIVENESS_FAILED, USER_INACTIVE).
 *
 *     $d = $client->authentication->verify('EMP001', Image::fromPath('probe.jpg'));
 *     if ($d['result']['authenticated'] ?? false) { … }
 */
final class Authentication
{
    public function __construct(private readonly Transport $http)
    {
    }

    /**
     * @param string $mode verification (needs `user_id` in $options) or identification
     * @param array{user_id?: string, session_type?: 'webcam'|'mobile'|'upload', require_liveness?: bool, liveness_threshold?: float, liveness_challenges?: list<string>, challenge_timeout?: int, timeout?: int, max_attempts?: int, confidence_threshold?: float, search_threshold?: float, max_results?: int} $options
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function create(string $mode, array $options = []): array
    {
        return $this->http->request('POST', '/auth/authentication/create/', json: ['mode' => $mode] + $options);
    }

    /**
     * @param array<string, mixed>|null $frameMetadata
     * @return array<string, mixed> status: processing (follow liveness.current_challenge), completed or failed
     * @throws WajahException
     */
    public function processFrame(string $sessionToken, Image|string $frame, ?array $frameMetadata = null): array
    {
        $frame = Image::of($frame);
        $headers = ['X-Session-Token' => $sessionToken];
        if ($frame->isBinary()) {
            return $this->http->request('POST', '/auth/authentication/process-frame/', form: [['frame_metadata' => $frameMetadata], [['frame', $frame]]], headers: $headers);
        }
        return $this->http->request('POST', '/auth/authentication/process-frame/', json: array_filter(['frame' => $frame->text, 'frame_metadata' => $frameMetadata], static fn ($v) => $v !== null), headers: $headers);
    }

    /**
     * Verifies or identifies many frames in one request.
     *
     * @param list<Image|string> $frames
     * @param array{mode?: string, user_id?: string, batch_size?: int, parallel_processing?: bool, confidence_threshold?: float, search_threshold?: float, max_results?: int} $options
     * @return array<string, mixed> {mode, total, results: [{index, status, result, …}], …}
     * @throws WajahException
     */
    public function batchProcess(array $frames, array $options = []): array
    {
        $files = array_map(static fn (Image|string $f): array => ['frames', Image::of($f)], $frames);
        return $this->http->request('POST', '/auth/authentication/batch-process/', form: [['options' => $options === [] ? null : $options], $files]);
    }

    /**
     * One-shot 1:1 verification (server to server).
     *
     * @param array{confidence_threshold?: float, search_threshold?: float, max_results?: int} $options
     * @return array<string, mixed>
     * @throws WajahException USER_NOT_FOUND, NOT_ENROLLED, NO_FACE_DETECTED, POOR_IMAGE_QUALITY, …
     */
    public function verify(string $userId, Image|string $image, array $options = []): array
    {
        return $this->oneShot('/auth/authentication/verify/', ['user_id' => $userId] + $options, Image::of($image));
    }

    /**
     * One-shot 1:N identification; `result.matches` best first.
     *
     * @param array{confidence_threshold?: float, search_threshold?: float, max_results?: int} $options
     * @return array<string, mixed>
     * @throws WajahException
     */
    public function identify(Image|string $image, array $options = []): array
    {
        return $this->oneShot('/auth/authentication/identify/', $options, Image::of($image));
    }

    /** @param array<string, mixed> $fields @return array<string, mixed> */
    private function oneShot(string $path, array $fields, Image $image): array
    {
        if ($image->isBinary()) {
            return $this->http->request('POST', $path, form: [$fields, [['image', $image]]]);
        }
        return $this->http->request('POST', $path, json: $fields + ['image' => $image->text]);
    }
}
