<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/** 401/403: INVALID_CREDENTIALS, IP_NOT_ALLOWED, PERMISSION_DENIED, … */
class AuthenticationException extends ApiException
{
}
