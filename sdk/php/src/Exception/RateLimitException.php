<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/** 429 RATE_LIMIT_EXCEEDED or 503 SERVICE_BUSY, after the client's own retries; getRetryAfter() says when to try again. */
class RateLimitException extends ApiException
{
}
