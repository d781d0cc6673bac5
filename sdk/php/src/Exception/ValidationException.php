<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/** 400/413/415/422: the request or its image was refused (VALIDATION_ERROR, INVALID_IMAGE, POOR_IMAGE_QUALITY, NOT_ENROLLED, …). */
class ValidationException extends ApiException
{
}
