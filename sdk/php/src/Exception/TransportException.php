<?php

declare(strict_types=1);

namespace Wajah\Sdk\Exception;

/** No HTTP answer: NETWORK_ERROR (refused, DNS, reset) or TIMEOUT. getStatusCode() is 0. */
class TransportException extends WajahException
{
}
