<?php

declare(strict_types=1);

// Runs from a checkout without Composer (Debian's phpunit): the SDK's own PSR-4 autoloader.
require __DIR__ . '/../autoload.php';
require __DIR__ . '/ServerTestCase.php';
