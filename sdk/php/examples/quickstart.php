<?php
// The guide's scenario: create a user, enroll a photo, verify, identify, check a webhook signature.
// Run: WAJAH_BASE_URL=… WAJAH_API_KEY=wk_… WAJAH_SECRET_KEY=wsk_… php examples/quickstart.php enroll.jpg probe.jpg
declare(strict_types=1);

require __DIR__ . '/../autoload.php'; // with Composer: require 'vendor/autoload.php';

use Wajah\Sdk\Client;
use Wajah\Sdk\Exception\NotFoundException;
use Wajah\Sdk\Exception\RateLimitException;
use Wajah\Sdk\Image;
use Wajah\Sdk\WebhookSignature;

[, $enrollPhoto, $probePhoto] = $argv;
$client = new Client(getenv('WAJAH_BASE_URL'), getenv('WAJAH_API_KEY'), getenv('WAJAH_SECRET_KEY'));
$employee = 'EMP-' . bin2hex(random_bytes(4));

$user = $client->users->create($employee, 'John Doe', ['email' => 'john.doe@company.com', 'metadata' => ['department' => 'IT']]);
$enrolled = $client->enrollment->direct($employee, Image::fromPath($enrollPhoto), ['quality_threshold' => 0.5]);
echo "enrolled {$enrolled['user_id']}: {$enrolled['status']}\n";

// 1:1 verification. A face that does not match is an answer (status "failed"), not an exception.
$decision = $client->authentication->verify($employee, Image::fromPath($probePhoto));
if ($decision['result']['authenticated'] ?? false) {
    printf("verified %s (confidence %.2f)\n", $decision['result']['user_id'], $decision['result']['confidence']);
}

// 1:N identification: matches best first.
$found = $client->authentication->identify(Image::fromPath($probePhoto), ['max_results' => 3]);
echo 'identified ' . ($found['result']['matches'][0]['name'] ?? 'nobody') . "\n";

// Errors carry the server's stable code.
try {
    $client->users->get('EMP-does-not-exist');
} catch (NotFoundException $e) {
    echo "error {$e->getCode()} ({$e->getStatusCode()})\n"; // USER_NOT_FOUND (404)
} catch (RateLimitException $e) {
    echo "retry after {$e->getRetryAfter()} s\n"; // 429/503 left after the client's own retries
}

// A webhook receiver checks X-Signature on the raw body before decoding it.
$secret = 'whsec_0123456789abcdef';
$body = '{"event":"user.created","data":{"user_id":"' . $employee . '"}}';
$header = WebhookSignature::sign($body, $secret); // what the server sends in X-Signature
echo 'signature ' . (WebhookSignature::verify($body, $header, $secret) ? 'valid' : 'invalid') . "\n";

$client->users->delete($employee); // the user and all their face data
