<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/** 404: USER_NOT_FOUND, SESSION_NOT_FOUND, WEBHOOK_NOT_FOUND, … */
class NotFoundException extends ApiException
{
}
