<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/** The server answered with a coded error: {code, message, statusCode, details}. */
class ApiException extends WajahException
{
}
