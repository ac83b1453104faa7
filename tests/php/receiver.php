<?php
// The vendor's reference receiver, for `php -S 127.0.0.1:PORT receiver.php`:
// every request is checked with api2cart_verify (tests/php/api2cart_reference.php),
// the published algorithm, on the headers as they arrived (getallheaders(),
// names in the case the client wrote them) and the raw body (php://input).
//
// Answers 200 "ok" when the signature matches, 401 "invalid signature" when
// it does not. Environment:
//   WEBHOOK_KEY   the store key (required)
//   RECEIVER_LOG  a file to append one JSON line per request to:
//                 {"method","uri","headers":[[name,value],...],"body_base64","verified"}

require __DIR__ . '/api2cart_reference.php';

$key = getenv('WEBHOOK_KEY');
$headers = getallheaders();
$body = file_get_contents('php://input');
$verified = is_string($key) && $key !== '' && api2cart_verify($headers, $body, $key);

$log = getenv('RECEIVER_LOG');
if (is_string($log) && $log !== '') {
    $pairs = [];
    foreach ($headers as $name => $value) {
        $pairs[] = [$name, $value];
    }
    $entry = [
        'method' => $_SERVER['REQUEST_METHOD'],
        'uri' => $_SERVER['REQUEST_URI'],
        'headers' => $pairs,
        'body_base64' => base64_encode($body),
        'verified' => $verified,
    ];
    $line = json_encode($entry, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
    file_put_contents($log, $line . "\n", FILE_APPEND | LOCK_EX);
}

http_response_code($verified ? 200 : 401);
header('Content-Type: text/plain; charset=utf-8');
echo $verified ? 'ok' : 'invalid signature';
