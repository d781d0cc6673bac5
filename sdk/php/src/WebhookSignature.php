<?php

declare(strict_types=1);

namespace Wajah\Sdk;

/**
 * Each delivery carries `X-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`, keyed with
 * the endpoint secret. Verify against the raw body, before you decode it:
 *
 *     $raw = file_get_contents('php://input');
 *     if (!WebhookSignature::verify($raw, $_SERVER['HTTP_X_SIGNATURE'] ?? null, getenv('WEBHOOK_SECRET'))) {
 *         http_response_code(401);
 *         exit;
 *     }
 */
final class WebhookSignature
{
    /** True when $header is the signature of $rawBody under $secret; compared in constant time. */
    public static function verify(string $rawBody, ?string $header, string $secret): bool
    {
        if ($header === null || $secret === '' || preg_match('/^sha256=[0-9a-f]{64}$/', trim($header)) !== 1) {
            return false;
        }
        return hash_equals(self::sign($rawBody, $secret), trim($header));
    }

    /** The header value the server sends for this body and secret (for testing your receiver). */
    public static function sign(string $rawBody, string $secret): string
    {
        return 'sha256=' . hash_hmac('sha256', $rawBody, $secret);
    }
}
