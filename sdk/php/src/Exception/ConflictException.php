<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/** 409: USER_EXISTS, SESSION_COMPLETED, … */
class ConflictException extends ApiException
{
}
