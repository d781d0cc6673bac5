<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/**
 * Every failure of the SDK. `getCode()` is the stable string code: the server's (docs/errors.md:
 * USER_NOT_FOUND, RATE_LIMIT_EXCEEDED, …) or one of the SDK's own (NETWORK_ERROR, TIMEOUT,
 * UNEXPECTED_RESPONSE), as PDOException does with SQLSTATE.
 *
 *     try { $client->users->get('EMP404'); }
 *     catch (NotFoundException $e) { assert($e->getCode() === 'USER_NOT_FOUND'); }
 */
class WajahException extends \RuntimeException
{
    public const NETWORK_ERROR = 'NETWORK_ERROR';
    public const TIMEOUT = 'TIMEOUT';
    public const UNEXPECTED_RESPONSE = 'UNEXPECTED_RESPONSE';

    /** @var string */
    protected $code;

    /**
     * @param int $statusCode The HTTP status; 0 when there was no HTTP answer.
     * @param mixed $details The server's `details` (e.g. ['field' => 'page_size'] for VALIDATION_ERROR).
     * @param float|null $retryAfter Seconds, from Retry-After.
     */
    public function __construct(
        string $code,
        string $message,
        private readonly int $statusCode = 0,
        private readonly mixed $details = null,
        private readonly ?float $retryAfter = null,
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, 0, $previous);
        $this->code = $code;
    }

    /** The same as getCode(), typed. */
    public function getErrorCode(): string
    {
        return $this->code;
    }

    public function getStatusCode(): int
    {
        return $this->statusCode;
    }

    public function getDetails(): mixed
    {
        return $this->details;
    }

    public function getRetryAfter(): ?float
    {
        return $this->retryAfter;
    }

    /** The exception class for an error answer: by HTTP status, so callers can catch a family. */
    public static function fromResponse(string $code, string $message, int $status, mixed $details, ?float $retryAfter): self
    {
        return match (true) {
            $status === 429 || $status === 503 => new RateLimitException($code, $message, $status, $details, $retryAfter),
            $status === 401 || $status === 403 => new AuthenticationException($code, $message, $status, $details, $retryAfter),
            $status === 404 => new NotFoundException($code, $message, $status, $details, $retryAfter),
            $status === 409 => new ConflictException($code, $message, $status, $details, $retryAfter),
            $status === 400 || $status === 413 || $status === 415 || $status === 422 => new ValidationException($code, $message, $status, $details, $retryAfter),
            default => new ApiException($code, $message, $status, $details, $retryAfter),
        };
    }
}
