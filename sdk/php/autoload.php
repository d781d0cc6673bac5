<?php

declare(strict_types=1);

// Without Composer: `require 'path/to/sdk/php/autoload.php';` (PSR-4, Wajah\Sdk\ => src/).
spl_autoload_register(static function (string $class): void {
    $prefix = 'Wajah\\Sdk\\';
    if (str_starts_with($class, $prefix)) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
