<?php
// Delivers one webhook the way the vendor does: signed with the vendor's own
// algorithm (api2cart_signature from tests/php/api2cart_reference.php) and
// POSTed over real HTTP/1.1 with the vendor's header case, through PHP's own
// HTTP stream wrapper.
//
// Usage: php php_sender.php URL STORE_KEY CASE
//   CASE: event | tampered (one body byte changed after signing)
//       | unsigned (no X-Webhook-Signature) | stale (timestamp an hour old)
//       | notice (lost-connection notice, empty body)
// Prints the status code on the first line, then the response body.

require __DIR__ . '/../php/api2cart_reference.php';

if ($argc !== 4) {
    fwrite(STDERR, "usage: php php_sender.php URL STORE_KEY CASE\n");
    exit(2);
}
[, $url, $storeKey, $case] = $argv;
if (!in_array($case, ['event', 'tampered', 'unsigned', 'stale', 'notice'], true)) {
    fwrite(STDERR, "unknown case $case\n");
    exit(2);
}

$timestamp = time();
if ($case === 'stale') {
    $timestamp -= 3600;
}

if ($case === 'notice') {
    $body = '';
    $headers = [
        'X-Webhook-Store-Id' => '1',
        'X-Webhook-Action' => 'update',
        'X-Webhook-Entity' => 'cart',
        'X-Webhook-Error-Code' => '3',
        'X-Webhook-Error-Reason' => 'connection',
        'X-Webhook-Error-Message' => 'Store "shop/1" is unreachable – café',
        'X-Webhook-Error-Try-Count' => '2',
        'X-Webhook-Timestamp' => (string) $timestamp,
    ];
} else {
    $body = '{"id":"86","name":"test product","url":"https://shop.example/p/86","note":"café ☕"}';
    $headers = [
        'X-Webhook-Store-Id' => '1',
        'X-Webhook-Action' => 'update',
        'X-Webhook-Entity' => 'product',
        'X-Webhook-Error-Code' => '0',
        'X-Webhook-Timestamp' => (string) $timestamp,
    ];
}
if ($case !== 'unsigned') {
    $headers['X-Webhook-Signature'] = api2cart_signature($headers, $body, $storeKey);
}

if ($case === 'tampered') {
    $body[7] = '7'; // "86" becomes "87" after signing
}

$lines = ['Content-Type: application/json', 'Connection: close'];
foreach ($headers as $name => $value) {
    $lines[] = "$name: $value";
}
$context = stream_context_create([
    'http' => [
        'method' => 'POST',
        'protocol_version' => 1.1,
        'header' => implode("\r\n", $lines),
        'content' => $body,
        'ignore_errors' => true, // read 4xx/5xx bodies instead of failing
        'timeout' => 10,
    ],
]);
$response = @file_get_contents($url, false, $context);
if ($response === false || !isset($http_response_header[0])) {
    fwrite(STDERR, "no response from $url\n");
    exit(1);
}
// "HTTP/1.1 200 OK"
$status = explode(' ', $http_response_header[0])[1] ?? '';
echo $status, "\n", $response;
