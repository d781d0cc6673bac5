<?php

declare(strict_types=1);

namespace Wajah\Sdk;

/**
 * An image to send. Bytes and files go as a multipart file part; a data URL or base64 text goes in a
 * JSON body, as the API takes both. Methods also accept a plain string: a `data:` URL, else a file path.
 *
 *     $client->enrollment->direct('EMP001', Image::fromPath('face.jpg'));
 *     $client->authentication->identify(Image::fromBytes($jpegBytes));
 */
final class Image
{
    private function __construct(
        public readonly ?string $bytes,
        public readonly ?string $text,
        public readonly string $filename,
    ) {
    }

    public static function fromPath(string $path): self
    {
        $bytes = @file_get_contents($path);
        if ($bytes === false) {
            throw new \InvalidArgumentException("cannot read image file: $path");
        }
        return new self($bytes, null, basename($path));
    }

    public static function fromBytes(string $bytes, ?string $filename = null): self
    {
        return new self($bytes, null, $filename ?? 'image.' . self::extension(self::sniffType($bytes)));
    }

    /** A data URL (`data:image/jpeg;base64,…`, e.g. from a browser canvas) or raw base64. */
    public static function fromDataUrl(string $dataUrlOrBase64): self
    {
        return new self(null, $dataUrlOrBase64, 'image');
    }

    /** A string argument: `data:` URLs are data URLs, anything else is a file path. */
    public static function of(self|string $image): self
    {
        if ($image instanceof self) {
            return $image;
        }
        return str_starts_with($image, 'data:') ? self::fromDataUrl($image) : self::fromPath($image);
    }

    public function isBinary(): bool
    {
        return $this->bytes !== null;
    }

    /** The MIME type from the first bytes (JPEG, PNG, WebP); octet-stream otherwise, which the server also takes. */
    public static function sniffType(string $b): string
    {
        return match (true) {
            str_starts_with($b, "\xFF\xD8\xFF") => 'image/jpeg',
            str_starts_with($b, "\x89PNG") => 'image/png',
            strlen($b) > 12 && substr($b, 0, 4) === 'RIFF' && substr($b, 8, 4) === 'WEBP' => 'image/webp',
            default => 'application/octet-stream',
        };
    }

    private static function extension(string $type): string
    {
        return ['image/jpeg' => 'jpg', 'image/png' => 'png', 'image/webp' => 'webp'][$type] ?? 'bin';
    }
}
