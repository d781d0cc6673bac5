<?php

declare(strict_types=1);

namespace Wajah\Sdk\Tests;

use Wajah\Sdk\Exception\ConflictException;
use Wajah\Sdk\Exception\NotFoundException;
use Wajah\Sdk\Exception\ValidationException;
use Wajah\Sdk\Image;

final class FaceFlowsTest extends ServerTestCase
{
    public function testDirectEnrollmentVerifyAndIdentify(): void
    {
        $obama = $this->newUser('obama', 'Barack Obama', ['metadata' => ['team' => 'A']]);
        $biden = $this->newUser('biden', 'Joe Biden');
        $enrolled = $this->client->enrollment->direct($obama, self::photo('obama', 1), ['quality_threshold' => 0.3]); // a path
        $this->assertSame(['completed', $obama, 1], [$enrolled['status'], $enrolled['user_id'], $enrolled['quality_metrics']['face_count']]);
        $this->assertSame([$enrolled['enrollment_id']], array_column($this->client->enrollment->list($obama)['enrollments'], 'enrollment_id'));

        $genuine = $this->client->authentication->verify($obama, Image::fromBytes(file_get_contents(self::photo('obama', 2))));
        $this->assertSame('completed', $genuine['status'], json_encode($genuine));
        $this->assertTrue($genuine['result']['authenticated']);
        $this->assertSame($obama, $genuine['result']['user_id']);
        $this->assertGreaterThanOrEqual($genuine['result']['threshold'], $genuine['result']['confidence']);

        $impostor = $this->client->authenticate(Image::fromPath(self::photo('biden', 1)), $obama);
        $this->assertSame(['failed', false, 'LOW_CONFIDENCE'], [$impostor['status'], $impostor['result']['authenticated'], $impostor['result']['failure_reason']]);

        $found = $this->client->authentication->identify(Image::fromPath(self::photo('obama', 2)), ['max_results' => 3]);
        $this->assertSame('completed', $found['status']);
        $best = $found['result']['matches'][0];
        $this->assertSame([$obama, 'Barack Obama', ['team' => 'A']], [$best['user_id'], $best['name'], $best['metadata']]);
        $this->assertNotContains($biden, array_column($found['result']['matches'], 'user_id'));

        $dataUrl = 'data:image/jpeg;base64,' . base64_encode(file_get_contents(self::photo('biden', 1)));
        $nobody = $this->client->authenticate($dataUrl); // a data URL goes in a JSON body
        $this->assertSame(['failed', [], 'NO_MATCH'], [$nobody['status'], $nobody['result']['matches'], $nobody['result']['failure_reason']]);
    }

    public function testSessionsBatchesAndDeletion(): void
    {
        $biden = $this->newUser('biden', 'Joe Biden');
        $session = $this->client->enrollment->create($biden, ['session_type' => 'upload', 'quality_threshold' => 0.3]);
        $this->assertSame(['active', $biden], [$session['status'], $session['user_id']]);
        $frame = $this->client->enrollment->processFrame($session['session_token'], Image::fromPath(self::photo('biden', 1)), ['device' => 'php-test']);
        $this->assertSame('ready', $frame['status'], json_encode($frame));
        $done = $this->client->enrollment->complete($session['session_token']);
        $this->assertSame(['completed', $biden], [$done['status'], $done['user_id']]);
        $this->expectCode(ConflictException::class, 'SESSION_COMPLETED', 409, fn () => $this->client->enrollment->processFrame($session['session_token'], self::photo('biden', 1)));
        $this->expectCode(NotFoundException::class, 'SESSION_NOT_FOUND', 404, fn () => $this->client->enrollment->complete('not-a-real-token'));

        $auth = $this->client->authentication->create('verification', ['user_id' => $biden]);
        $this->assertSame(['verification', $biden, 'active'], [$auth['mode'], $auth['user_id'], $auth['status']]);
        $decision = $this->client->authentication->processFrame($auth['session_token'], self::photo('biden', 2));
        $this->assertTrue($decision['result']['authenticated'], json_encode($decision));

        $batch = $this->client->authentication->batchProcess([self::photo('biden', 2), Image::fromPath(self::photo('obama', 2))], ['mode' => 'verification', 'user_id' => $biden]);
        $this->assertSame(['verification', 2], [$batch['mode'], $batch['total']]);
        $byIndex = array_column($batch['results'], null, 'index');
        $this->assertTrue($byIndex[0]['result']['authenticated'], json_encode($batch));
        $this->assertFalse($byIndex[1]['result']['authenticated'], json_encode($batch));

        $removed = $this->client->enrollment->delete($done['enrollment_id']);
        $this->assertSame([true, $done['enrollment_id']], [$removed['deleted'], $removed['enrollment_id']]);
        $this->expectCode(ValidationException::class, 'NOT_ENROLLED', 422, fn () => $this->client->authentication->verify($biden, self::photo('biden', 2)));
    }

    public function testBatchEnrollment(): void
    {
        $a = $this->newUser('batch-a', 'Batch A');
        $b = $this->newUser('batch-b', 'Batch B');
        $out = $this->client->enrollment->batch([[$a, self::photo('obama', 1)], [$b, Image::fromPath(self::photo('biden', 1))]], ['quality_threshold' => 0.3]);
        $this->assertSame([2, 2, 0], [$out['total'], $out['completed'], $out['failed']], json_encode($out));
        $this->assertSame(1, $this->client->enrollment->list($a)['count']);
    }
}
