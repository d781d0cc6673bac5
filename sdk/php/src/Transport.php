<?php

declare(strict_types=1);

namespace Wajah\Sdk;

use Wajah\Sdk\Exception\TransportException;
use Wajah\Sdk\Exception\WajahException;

/**
 * The one place requests are made: credentials, JSON and multipart bodies, timeouts, error mapping,
 * and retries of 429/503 answers with exponential backoff that honours Retry-After.
 *
 * @internal
 */
final class Transport
{
    public const USER_AGENT = 'wajah-sdk-php/1.0.0';

    public readonly string $base;
    private readonly string $authorization;

    /** @var \Closure(float): void */
    private \Closure $sleep;

    public function __construct(
        string $baseUrl,
        string $apiKey,
        string $secretKey,
        private readonly float $timeout = 30.0,
        private readonly int $maxRetries = 2,
        private readonly float $maxRetryDelay = 30.0,
    ) {
        if ($apiKey === '' || $secretKey === '') {
            throw new \InvalidArgumentException('apiKey and secretKey are required');
        }
        $this->base = self::apiBase($baseUrl);
        $this->authorization = "ApiKey $apiKey:$secretKey";
        $this->sleep = static function (float $seconds): void {
            usleep((int) round($seconds * 1_000_000));
        };
    }

    /** `http://host:8000` (no path) means the default base path `/api`; any other path is kept. */
    public static function apiBase(string $baseUrl): string
    {
        $parts = parse_url(trim($baseUrl));
        if ($parts === false || !in_array($parts['scheme'] ?? '', ['http', 'https'], true) || !isset($parts['host'])) {
            throw new \InvalidArgumentException("baseUrl must be an absolute http(s) URL, got '$baseUrl'");
        }
        $origin = $parts['scheme'] . '://' . $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
        $path = rtrim($parts['path'] ?? '', '/');
        return $origin . ($path === '' ? '/api' : $path);
    }

    /** One path segment: ids may be external ids with any characters. */
    public static function seg(string $id): string
    {
        return rawurlencode($id);
    }

    /**
     * The decoded JSON answer (null for an empty one, e.g. 204).
     *
     * @param array<string, mixed>|null $query
     * @param array<string, mixed>|\stdClass|null $json a JSON body (stdClass for {})
     * @param array{0: array<string, mixed>, 1: list<array{0: string, 1: Image}>}|null $form text fields and files
     * @param array<string, string> $headers
     * @throws WajahException
     */
    public function request(string $method, string $path, ?array $query = null, array|\stdClass|null $json = null, ?array $form = null, array $headers = []): mixed
    {
        for ($attempt = 0; ; $attempt++) {
            try {
                return $this->once($method, $path, $query, $json, $form, $headers);
            } catch (WajahException $e) {
                $status = $e->getStatusCode();
                if (($status !== 429 && $status !== 503) || $attempt >= $this->maxRetries) {
                    throw $e;
                }
                // Exponential backoff (0.5 s, 1 s, 2 s … with jitter) unless the server said when.
                $delay = $e->getRetryAfter() ?? (0.5 * 2 ** $attempt) * (1 + mt_rand() / mt_getrandmax() * 0.25);
                if ($delay > $this->maxRetryDelay) {
                    throw $e; // e.g. an hourly quota: waiting here would only hang the caller
                }
                ($this->sleep)($delay);
            }
        }
    }

    /**
     * @param array<string, mixed>|null $query
     * @param array<string, mixed>|\stdClass|null $json
     * @param array{0: array<string, mixed>, 1: list<array{0: string, 1: Image}>}|null $form
     * @param array<string, string> $headers
     */
    private function once(string $method, string $path, ?array $query, array|\stdClass|null $json, ?array $form, array $headers): mixed
    {
        $what = "$method $path";
        $h = ['Authorization: ' . $this->authorization, 'Accept: application/json', 'User-Agent: ' . self::USER_AGENT, 'Expect:'];
        foreach ($headers as $k => $v) {
            $h[] = "$k: $v";
        }
        $ch = curl_init($this->base . $path . self::queryString($query));
        $responseHeaders = [];
        $options = [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false, // a redirect would resend the credentials elsewhere
            CURLOPT_TIMEOUT_MS => (int) ($this->timeout * 1000),
            CURLOPT_HEADERFUNCTION => static function ($ch, string $line) use (&$responseHeaders): int {
                $pos = strpos($line, ':');
                if ($pos !== false) {
                    $responseHeaders[strtolower(trim(substr($line, 0, $pos)))] = trim(substr($line, $pos + 1));
                }
                return strlen($line);
            },
        ];
        if ($form !== null) {
            [$options[CURLOPT_POSTFIELDS], $type] = self::multipart($form[0], $form[1]);
            $h[] = "Content-Type: $type";
        } elseif ($json !== null) {
            $options[CURLOPT_POSTFIELDS] = json_encode($json, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR);
            $h[] = 'Content-Type: application/json';
        }
        $options[CURLOPT_HTTPHEADER] = $h;
        curl_setopt_array($ch, $options);
        $raw = curl_exec($ch);
        if ($raw === false) {
            $errno = curl_errno($ch);
            $error = curl_error($ch);
            curl_close($ch);
            if ($errno === CURLE_OPERATION_TIMEDOUT) {
                throw new TransportException(WajahException::TIMEOUT, "$what: no answer within {$this->timeout} s");
            }
            throw new TransportException(WajahException::NETWORK_ERROR, "$what: $error");
        }
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        if ($status < 200 || $status >= 300) {
            throw self::responseError($status, (string) $raw, $responseHeaders['retry-after'] ?? null);
        }
        if (trim((string) $raw) === '') {
            return null;
        }
        try {
            return json_decode((string) $raw, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new WajahException(WajahException::UNEXPECTED_RESPONSE, "$what: the answer is not JSON", $status, null, null, $e);
        }
    }

    /** For tests of the retry policy. @internal */
    public function setSleep(\Closure $sleep): void
    {
        $this->sleep = $sleep;
    }

    /** Seconds from Retry-After (seconds or an HTTP date); null when absent or unreadable. */
    public static function parseRetryAfter(?string $value, ?int $now = null): ?float
    {
        if ($value === null || trim($value) === '') {
            return null;
        }
        if (is_numeric(trim($value))) {
            return max(0.0, (float) trim($value));
        }
        $date = strtotime($value);
        return $date === false ? null : (float) max(0, $date - ($now ?? time()));
    }

    private static function responseError(int $status, string $raw, ?string $retryAfterHeader): WajahException
    {
        $retryAfter = self::parseRetryAfter($retryAfterHeader);
        $parsed = json_decode($raw, true);
        if (is_array($parsed) && isset($parsed['code']) && is_string($parsed['code'])) {
            $message = isset($parsed['message']) && is_string($parsed['message']) ? $parsed['message'] : $parsed['code'];
            return WajahException::fromResponse($parsed['code'], $message, $status, $parsed['details'] ?? null, $retryAfter);
        }
        return new WajahException(WajahException::UNEXPECTED_RESPONSE, "HTTP $status: " . substr($raw, 0, 200), $status, null, $retryAfter);
    }

    /** @param array<string, mixed>|null $query */
    private static function queryString(?array $query): string
    {
        $pairs = [];
        foreach ($query ?? [] as $k => $v) {
            if ($v !== null) {
                $pairs[] = rawurlencode((string) $k) . '=' . rawurlencode(self::text($v));
            }
        }
        return $pairs === [] ? '' : '?' . implode('&', $pairs);
    }

    /** A form/query value as text: booleans as true/false, arrays as JSON (the server parses them). */
    private static function text(mixed $v): string
    {
        return match (true) {
            is_bool($v) => $v ? 'true' : 'false',
            is_array($v) => json_encode($v, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR),
            default => (string) $v,
        };
    }

    /**
     * A multipart/form-data body and its content type. Built here rather than by curl from an array,
     * because batch calls repeat a file field (`images`, `frames`) and a PHP array cannot.
     *
     * @param array<string, mixed> $fields
     * @param list<array{0: string, 1: Image}> $files
     * @return array{0: string, 1: string}
     */
    public static function multipart(array $fields, array $files): array
    {
        $boundary = '----wajah' . bin2hex(random_bytes(12));
        $body = '';
        foreach ($fields as $k => $v) {
            if ($v !== null) {
                $body .= "--$boundary\r\nContent-Disposition: form-data; name=\"$k\"\r\n\r\n" . self::text($v) . "\r\n";
            }
        }
        foreach ($files as [$field, $image]) {
            $bytes = $image->bytes ?? self::decodeText((string) $image->text);
            $name = str_replace(['"', "\r", "\n"], '_', $image->filename);
            $body .= "--$boundary\r\nContent-Disposition: form-data; name=\"$field\"; filename=\"$name\"\r\n"
                . 'Content-Type: ' . Image::sniffType($bytes) . "\r\n\r\n" . $bytes . "\r\n";
        }
        return [$body . "--$boundary--\r\n", "multipart/form-data; boundary=$boundary"];
    }

    private static function decodeText(string $s): string
    {
        $b64 = preg_replace('/^data:[^,]*;base64,/i', '', $s) ?? $s;
        $bytes = base64_decode(preg_replace('/\s+/', '', $b64) ?? $b64, true);
        if ($bytes === false) {
            throw new \InvalidArgumentException('the image text is neither a data URL nor base64');
        }
        return $bytes;
    }
}
