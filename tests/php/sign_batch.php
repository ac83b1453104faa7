<?php
// Signs a batch of deliveries with the vendor's algorithm, for tests/differential.rs.
//
//     php tests/php/sign_batch.php < cases.jsonl > answers.jsonl
//
// Input, one JSON object per line (bytes in base64):
//     {"headers": [[name, value_b64], ...], "body": body_b64, "key": key_b64}
// Output, one line per input line, in order:
//     {"names": [...], "json": json_b64 | null, "signature": "..."}
// where names are the signed header names in vendor case and ksort order, json
// is what json_encode printed (null when it returned false), and signature is
// the vendor's X-Webhook-Signature value.

declare(strict_types=1);

require __DIR__ . '/api2cart_reference.php';

function decode_b64(string $text, int $line): string
{
    $bytes = base64_decode($text, true);
    if ($bytes === false) {
        fwrite(STDERR, "sign_batch.php: line $line: bad base64\n");
        exit(1);
    }
    return $bytes;
}

$line = 0;
while (($text = fgets(STDIN)) !== false) {
    $line++;
    if (trim($text) === '') {
        continue;
    }
    $case = json_decode($text, true, 16, JSON_THROW_ON_ERROR);

    // The sender names its headers in its own case (idempotent on vendor case).
    $headers = [];
    foreach ($case['headers'] as [$name, $value]) {
        $headers[api2cart_vendor_case($name)] = decode_b64($value, $line);
    }
    $body = decode_b64($case['body'], $line);
    $key = decode_b64($case['key'], $line);

    $signed = $headers;
    unset($signed['X-Webhook-Signature']);
    ksort($signed);
    $json = api2cart_header_json($headers);

    echo json_encode([
        'names' => array_map('strval', array_keys($signed)),
        'json' => $json === false ? null : base64_encode($json),
        'signature' => api2cart_signature($headers, $body, $key),
    ], JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
}
