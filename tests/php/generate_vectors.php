<?php
// Known-answer vectors for the API2Cart webhook signature, computed with the
// vendor's own algorithm (api2cart_reference.php), never with the crate:
//
//     php tests/php/generate_vectors.php > tests/vectors/known_answers.json
//
// Each case records the headers exactly as they travel on the wire (order and
// name case included), the body, the keys the receiver holds and the secret the
// sender used, and what PHP says about it: the JSON the vendor signs (base64, so
// control bytes survive), the signature, and which key (if any) the vendor's
// sample receiver accepts. `expect` is the outcome our verifier must give: the
// generator refuses to write a file where that contradicts PHP's own verdict.
// tests/known_answers.rs replays every case through the crate without PHP.

declare(strict_types=1);

require __DIR__ . '/api2cart_reference.php';

// A store key shaped like API2Cart's (32 hex characters).
const STORE_KEY = 'ed58a22dfecb405a50ea3ea56979360d';
const OLD_KEY = '0b1f6a3c9e7d4c2b8a5f1e0d3c2b1a90';
const NEW_KEY = '7c4e2a9b1d8f3e6a5b0c9d2e1f4a3b8c';
const SAMPLE_BODY = '{"id":"86","name":"test product"}';
const SIG = 'X-Webhook-Signature';

function fail(string $message): never
{
    fwrite(STDERR, "generate_vectors.php: $message\n");
    exit(1);
}

// The vendor's published sample headers (seed 001), in the published order.
function sample_headers(): array
{
    return [
        ['X-Webhook-Error-Code', '0'],
        ['X-Webhook-Action', 'update'],
        ['X-Webhook-Timestamp', '1516291592'],
        ['X-Webhook-Entity', 'product'],
        ['X-Webhook-Store-Id', '1'],
    ];
}

// The headers as a PHP receiver's array holds them: vendor-case names, and the
// last of several same-named headers wins (a PHP array has no duplicates).
function received(array $wire): array
{
    $map = [];
    foreach ($wire as [$name, $value]) {
        $map[api2cart_vendor_case($name)] = $value;
    }
    return $map;
}

// What the vendor signs: the X-Webhook-* headers but the signature, ksorted.
function signed_map(array $wire): array
{
    $map = [];
    foreach (received($wire) as $name => $value) {
        if (stripos((string) $name, 'X-Webhook-') === 0 && $name !== SIG) {
            $map[$name] = $value;
        }
    }
    ksort($map);
    return $map;
}

// The vendor's signature over $wire (any name case) and $body.
function vendor_sign(array $wire, string $body, string $secret): string
{
    return api2cart_signature(received($wire), $body, $secret);
}

// A signature over arbitrary JSON, for senders that encode the headers wrongly.
function sign_over(string $json, string $body, string $secret): string
{
    return base64_encode(hash_hmac('sha256', $json . $body, $secret, true));
}

// $wire with a signature header inserted at $at (default: last).
function with_signature(array $wire, string $signature, ?int $at = null, string $name = SIG): array
{
    array_splice($wire, $at ?? count($wire), 0, [[$name, $signature]]);
    return $wire;
}

// $wire signed by the vendor with $secret, the signature header last.
function signed(array $wire, string $body = SAMPLE_BODY, string $secret = STORE_KEY): array
{
    return with_signature($wire, vendor_sign($wire, $body, $secret));
}

function lowercase_names(array $wire): array
{
    return array_map(fn ($pair) => [strtolower($pair[0]), $pair[1]], $wire);
}

function uppercase_names(array $wire): array
{
    return array_map(fn ($pair) => [strtoupper($pair[0]), $pair[1]], $wire);
}

// $wire with the value of header $name (exact wire spelling) replaced.
function replace_value(array $wire, string $name, string $value): array
{
    foreach ($wire as $i => [$n, $_]) {
        if ($n === $name) {
            $wire[$i][1] = $value;
            return $wire;
        }
    }
    fail("no header $name to replace");
}

function expand_body(string|array $body): string
{
    if (is_string($body)) {
        return $body;
    }
    $pattern = $body['repeat'];
    return substr(str_repeat($pattern, intdiv($body['len'], strlen($pattern)) + 1), 0, $body['len']);
}

function is_utf8(string $s): bool
{
    return preg_match('//u', $s) === 1;
}

// A string for the vector file: as is when UTF-8, else {"base64": ...}.
function text_or_base64(string $s): string|array
{
    return is_utf8($s) ? $s : ['base64' => base64_encode($s)];
}

$cases = [];

// Records one case. $c: name, about, wire, body (default the sample body; a string
// or ['repeat' => pattern, 'len' => n]), expect ('valid' or an ErrorKind name),
// key_id (for 'valid'), keys ([[id, secret], ...]; default the store key as
// 'primary'), sender_secret (the key the sender signed with; default the store key).
function add(array $c): void
{
    global $cases;
    $c += [
        'body' => SAMPLE_BODY,
        'keys' => [['primary', STORE_KEY]],
        'sender_secret' => STORE_KEY,
        'key_id' => null,
    ];
    $body = expand_body($c['body']);
    $wire = $c['wire'];

    // Two X-Webhook-* headers that are one name in vendor case: a PHP array keeps
    // only one of them, so there is no single JSON the vendor could have signed.
    $webhookNames = [];
    foreach ($wire as [$name, $_]) {
        if (stripos($name, 'X-Webhook-') === 0) {
            $webhookNames[] = api2cart_vendor_case($name);
        }
    }
    $duplicate = count($webhookNames) !== count(array_unique($webhookNames));

    $map = signed_map($wire);
    $json = $duplicate ? false : api2cart_header_json($map);
    if ($json !== false && $json !== json_encode($map)) {
        fail("{$c['name']}: api2cart_header_json disagrees with json_encode");
    }

    // The vendor's sample receiver (api2cart_verify), given the headers as an
    // array keyed by the names as received.
    $asReceived = [];
    foreach ($wire as [$name, $value]) {
        $asReceived[$name] = $value;
    }
    $phpKeyId = null;
    foreach ($c['keys'] as [$id, $secret]) {
        if (api2cart_verify($asReceived, $body, $secret)) {
            $phpKeyId = $id;
            break;
        }
    }

    // The expected outcome is written by hand; PHP's verdict keeps it honest.
    $expect = $c['expect'];
    if ($expect === 'valid' && $phpKeyId !== $c['key_id']) {
        fail("{$c['name']}: expected key {$c['key_id']} to match, PHP matched " . var_export($phpKeyId, true));
    }
    if (in_array($expect, ['InvalidSignature', 'MissingSignature'], true) && $phpKeyId !== null) {
        fail("{$c['name']}: expected a refusal, but PHP accepts it with key $phpKeyId");
    }
    if ($json === false && $expect !== 'MalformedHeaders') {
        fail("{$c['name']}: PHP cannot encode these headers; expect MalformedHeaders");
    }
    foreach ($cases as $other) {
        if ($other['name'] === $c['name']) {
            fail("duplicate case name {$c['name']}");
        }
    }

    $cases[] = [
        'name' => $c['name'],
        'about' => $c['about'],
        'keys' => array_map(fn ($k) => ['id' => $k[0], 'secret' => $k[1]], $c['keys']),
        'sender_secret' => $c['sender_secret'],
        'headers' => array_map(fn ($pair) => [$pair[0], text_or_base64($pair[1])], $wire),
        'body' => is_string($c['body']) ? ['base64' => base64_encode($body)] : $c['body'],
        'body_len' => strlen($body),
        'signed_headers' => $json === false
            ? null
            : array_map(fn ($n, $v) => [(string) $n, $v], array_keys($map), array_values($map)),
        'expected_json_base64' => $json === false ? null : base64_encode($json),
        'expected_signature' => $json === false ? null : vendor_sign($wire, $body, $c['sender_secret']),
        'expect' => $expect,
        'key_id' => $expect === 'valid' ? $c['key_id'] : null,
        'php_reference_key_id' => $phpKeyId,
    ];
}

// ---------------------------------------------------------------------------
// Accepted deliveries: name case, order, and every class of character PHP escapes.

add([
    'name' => 'vendor_sample_vendor_case',
    'about' => "The vendor's published headers, in the published order and case.",
    'wire' => signed(sample_headers()),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'vendor_sample_lowercase_names',
    'about' => 'HTTP/2 and the http crate hand over lowercase names; vendor case must be rebuilt.',
    'wire' => lowercase_names(signed(sample_headers())),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'vendor_sample_uppercase_names',
    'about' => 'All-uppercase names on the wire.',
    'wire' => uppercase_names(signed(sample_headers())),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'vendor_sample_mixed_case_names',
    'about' => 'Mixed case in every segment, the signature name included.',
    'wire' => (function () {
        $sig = vendor_sign(sample_headers(), SAMPLE_BODY, STORE_KEY);
        return [
            ['x-WEBHOOK-error-CODE', '0'],
            ['X-webhook-Action', 'update'],
            ['x-Webhook-TIMESTAMP', '1516291592'],
            ['X-WEBHOOK-entity', 'product'],
            ['x-WEBHOOK-store-ID', '1'],
            ['x-WEBHOOK-signature', $sig],
        ];
    })(),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'signature_first_random_order',
    'about' => 'Signature first, the rest in neither sorted nor published order.',
    'wire' => with_signature([
        ['X-Webhook-Store-Id', '1'],
        ['X-Webhook-Timestamp', '1516291592'],
        ['X-Webhook-Error-Code', '0'],
        ['X-Webhook-Entity', 'product'],
        ['X-Webhook-Action', 'update'],
    ], vendor_sign(sample_headers(), SAMPLE_BODY, STORE_KEY), 0),
    'expect' => 'valid', 'key_id' => 'primary',
]);

$withOthers = [
    ['Host', 'receiver.example.com'],
    ['User-Agent', 'API2Cart Webhook/1.0'],
    ['X-Webhook-Entity', 'order'],
    ['Content-Type', 'application/json; charset=utf-8'],
    ['X-Webhook-Action', 'add'],
    ['Content-Length', '33'],
    ['X-Webhooks-Entity', 'near miss: plural prefix, not signed'],
    ['X-Webhook', 'near miss: no dash, not signed'],
    ['Webhook-Store-Id', 'near miss: no X-, not signed'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Webhook-Store-Id', '1'],
];
add([
    'name' => 'non_webhook_headers_ignored',
    'about' => 'Content-Type, User-Agent and near-miss prefixes are on the wire but not signed.',
    'wire' => signed($withOthers),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'unsigned_header_changed_in_transit',
    'about' => 'A proxy rewrote User-Agent and Content-Type after signing: they are not covered.',
    'wire' => replace_value(
        replace_value(signed($withOthers), 'User-Agent', 'proxy/2.0'),
        'Content-Type',
        'text/plain'
    ),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'slashes_escaped',
    'about' => 'PHP escapes / as \/ by default.',
    'wire' => signed([
        ['X-Webhook-Entity', 'product/variant'],
        ['X-Webhook-Action', '/'],
        ['X-Webhook-Error-Message', 'see https://api2cart.com/docs/#/webhook/WebhookCreate'],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'quotes_and_backslashes',
    'about' => 'Double quotes and backslashes are escaped; a trailing backslash too.',
    'wire' => signed([
        ['X-Webhook-Error-Message', 'say "hi" to C:\\Shop\\ and \\"nested\\" \\u0041'],
        ['X-Webhook-Entity', '\\'],
        ['X-Webhook-Action', '"'],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'short_escapes',
    'about' => 'Backspace, form feed, newline, carriage return and tab have two-character escapes.',
    'wire' => signed([
        ['X-Webhook-Error-Message', "a\x08b\x0cc\nd\re\tf"],
        ['X-Webhook-Error-Reason', "line one\r\nline two"],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

$controls = '';
foreach (range(0, 0x1f) as $byte) {
    $controls .= chr($byte);
}
add([
    'name' => 'all_control_bytes',
    'about' => 'Bytes 0x00-0x1f: short escapes where PHP has one, \u00XX (lowercase hex) otherwise.',
    'wire' => signed([
        ['X-Webhook-Error-Message', "<{$controls}>"],
        ['X-Webhook-Entity', "nul\x00byte"],
        ['X-Webhook-Action', "esc\x1b[0m unit\x1f sep\x1e"],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'del_not_escaped',
    'about' => 'DEL (0x7f) is copied as is.',
    'wire' => signed([['X-Webhook-Entity', "pro\x7fduct"], ['X-Webhook-Action', "\x7f"]]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'html_characters_not_escaped',
    'about' => "< > & ' stay as they are under default flags (only / and \" are escaped).",
    'wire' => signed([
        ['X-Webhook-Error-Message', "<script>alert('x') && \"y\"</script>"],
        ['X-Webhook-Entity', "a<b>c&d'e"],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'non_ascii_bmp',
    'about' => 'Latin-1, euro sign, CJK: each becomes a lowercase \uXXXX escape.',
    'wire' => signed([
        ['X-Webhook-Entity', 'café'],
        ['X-Webhook-Action', '€100'],
        ['X-Webhook-Error-Message', '日本語のテキスト, Ünïcödé, Ωμέγα, Привет'],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'bmp_boundaries',
    'about' => 'U+0080, U+00FF, U+07FF, U+0800, U+2028, U+2029, U+E000, U+FEFF, U+FFFD, U+FFFF.',
    'wire' => signed([
        ['X-Webhook-Error-Message', "a\u{80}b\u{ff}c\u{7ff}d\u{800}e\u{2028}f\u{2029}g\u{e000}h\u{feff}i\u{fffd}j\u{ffff}k"],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'astral_surrogate_pairs',
    'about' => 'Characters above U+FFFF are written as UTF-16 surrogate pairs.',
    'wire' => signed([
        ['X-Webhook-Entity', '😀'],
        ['X-Webhook-Action', "G clef \u{1d11e}, max \u{10ffff}, first \u{10000}"],
        ['X-Webhook-Error-Message', "flag 🏳️‍🌈 family 👨‍👩‍👧 ok 👍🏽"],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'unknown_extra_headers',
    'about' => 'Names the crate does not know are signed too, in vendor case.',
    'wire' => signed([
        ['X-Webhook-Custom-Thing', 'custom'],
        ['X-Webhook-A', 'a'],
        ['X-Webhook-Id', '5f1e'],
        ['X-Webhook-Store-Id', '1'],
        ['X-Webhook-Zz-Top', 'last'],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'unknown_extra_headers_lowercase',
    'about' => 'Unknown names arriving in lowercase: vendor case is rebuilt per segment.',
    'wire' => lowercase_names(signed([
        ['X-Webhook-Custom-Thing', 'custom'],
        ['X-Webhook-A', 'a'],
        ['X-Webhook-Entity', 'order'],
    ])),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'unknown_names_odd_segments',
    'about' => 'Segments starting with digits, doubled and trailing dashes, mixed case on the wire.',
    'wire' => (function () {
        $vendor = [
            ['X-Webhook-V2-9lives', 'digits'],
            ['X-Webhook-A--B', 'double dash'],
            ['X-Webhook-Trailing-', 'trailing dash'],
        ];
        return with_signature([
            ['x-WEBHOOK-v2-9LIVES', 'digits'],
            ['X-webhook-a--b', 'double dash'],
            ['x-webhook-TRAILING-', 'trailing dash'],
        ], vendor_sign($vendor, SAMPLE_BODY, STORE_KEY));
    })(),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'prefix_only_name',
    'about' => 'A header named exactly X-Webhook- (empty suffix) is a signed header.',
    'wire' => lowercase_names(signed([['X-Webhook-', 'empty suffix'], ['X-Webhook-Entity', 'product']])),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'sort_is_byte_order',
    'about' => "ksort orders names by bytes: '-' < digits < letters, a prefix before its extensions.",
    'wire' => signed([
        ['X-Webhook-Errorx', '4'],
        ['X-Webhook-Ab', '3'],
        ['X-Webhook-Error-Code', '5'],
        ['X-Webhook-A1', '2'],
        ['X-Webhook-Error', '6'],
        ['X-Webhook-A-1', '1'],
        ['X-Webhook-A', '0'],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'empty_map',
    'about' => 'Only the signature header: PHP encodes the empty array as [] (not {}).',
    'wire' => signed([]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'empty_map_with_other_headers_and_empty_body',
    'about' => 'No signed header, no body: the MAC covers just [].',
    'wire' => signed([['Content-Type', 'application/json'], ['User-Agent', 'curl/8.5.0']], ''),
    'body' => '',
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'empty_body',
    'about' => 'Sample headers with an empty body.',
    'wire' => signed(sample_headers(), ''),
    'body' => '',
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'empty_header_value',
    'about' => 'An empty value is a signed empty string.',
    'wire' => signed([['X-Webhook-Error-Message', ''], ['X-Webhook-Entity', 'product']]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'values_with_inner_whitespace',
    'about' => 'Spaces and tabs inside a value are kept (HTTP trims only the ends).',
    'wire' => signed([['X-Webhook-Error-Message', "two  spaces\tand a tab"], ['X-Webhook-Entity', 'a b']]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'json_and_number_like_values',
    'about' => 'Values are always JSON strings, whatever they look like.',
    'wire' => signed([
        ['X-Webhook-Store-Id', '007'],
        ['X-Webhook-Error-Code', '-1'],
        ['X-Webhook-Entity', 'null'],
        ['X-Webhook-Action', '{"a":[1,2]}'],
        ['X-Webhook-Error-Try-Count', '1e3'],
        ['X-Webhook-Id', 'true'],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'long_header_value',
    'about' => 'An 8 KiB value mixing every escape class.',
    'wire' => signed([
        ['X-Webhook-Error-Message', 'x' . str_repeat("a/\"\\\n\x01\x7fé😀", 512) . 'x'],
    ]),
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'binary_body',
    'about' => 'The body is raw bytes, invalid UTF-8 included.',
    'wire' => signed(sample_headers(), implode('', array_map('chr', range(0, 255))) . "\xff\xfe\xc3\x28"),
    'body' => implode('', array_map('chr', range(0, 255))) . "\xff\xfe\xc3\x28",
    'expect' => 'valid', 'key_id' => 'primary',
]);

$bigBody = ['repeat' => '{"id":"86","name":"tëst/product \"big\""},', 'len' => 1048576];
add([
    'name' => 'body_1_mib',
    'about' => 'A 1 MiB body (a pattern repeated and cut at exactly 1048576 bytes).',
    'wire' => signed(sample_headers(), expand_body($bigBody)),
    'body' => $bigBody,
    'expect' => 'valid', 'key_id' => 'primary',
]);

$lostConnection = [
    ['X-Webhook-Store-Id', '1'],
    ['X-Webhook-Action', 'update'],
    ['X-Webhook-Entity', 'product'],
    ['X-Webhook-Error-Code', '17'],
    ['X-Webhook-Error-Reason', 'Lost connection with the store'],
    ['X-Webhook-Error-Message', "Store https://shop.example.com/ can't be reached: cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received"],
    ['X-Webhook-Error-Try-Count', '3'],
    ['X-Webhook-Timestamp', '1700000000'],
];
add([
    'name' => 'lost_connection_notice',
    'about' => 'Error notice: non-zero code, reason, free-text message, try count, empty body.',
    'wire' => signed($lostConnection, ''),
    'body' => '',
    'expect' => 'valid', 'key_id' => 'primary',
]);

add([
    'name' => 'lost_connection_notice_lowercase_unicode',
    'about' => 'Error notice on HTTP/2 (lowercase names), message with quotes, slashes and non-ASCII.',
    'wire' => lowercase_names(signed([
        ['X-Webhook-Error-Code', '1'],
        ['X-Webhook-Error-Reason', 'Bridge "not responding"'],
        ['X-Webhook-Error-Message', 'Magasin «Boutique» /api injoignable — réessai n°5 ✓'],
        ['X-Webhook-Error-Try-Count', '5'],
        ['X-Webhook-Store-Id', '2'],
    ], '')),
    'body' => '',
    'expect' => 'valid', 'key_id' => 'primary',
]);

// ---------------------------------------------------------------------------
// Keys: rotation and odd secrets.

add([
    'name' => 'rotation_matches_second_key',
    'about' => 'Two active keys; the delivery was signed with the second.',
    'keys' => [['old', OLD_KEY], ['new', NEW_KEY]],
    'sender_secret' => NEW_KEY,
    'wire' => signed(sample_headers(), SAMPLE_BODY, NEW_KEY),
    'expect' => 'valid', 'key_id' => 'new',
]);

add([
    'name' => 'rotation_matches_first_key',
    'about' => 'Two active keys; the delivery was signed with the first.',
    'keys' => [['old', OLD_KEY], ['new', NEW_KEY]],
    'sender_secret' => OLD_KEY,
    'wire' => signed(sample_headers(), SAMPLE_BODY, OLD_KEY),
    'expect' => 'valid', 'key_id' => 'old',
]);

add([
    'name' => 'rotation_matches_third_of_three',
    'about' => 'Three keys; only the last matches, and its id is reported.',
    'keys' => [['k1', OLD_KEY], ['k2', NEW_KEY], ['k3', STORE_KEY]],
    'wire' => lowercase_names(signed(sample_headers())),
    'expect' => 'valid', 'key_id' => 'k3',
]);

$longKey = str_repeat('0123456789abcdef', 12) . 'tail';
add([
    'name' => 'key_longer_than_hmac_block',
    'about' => 'A 196-byte store key: HMAC hashes keys longer than 64 bytes first.',
    'keys' => [['long', $longKey]],
    'sender_secret' => $longKey,
    'wire' => signed(sample_headers(), SAMPLE_BODY, $longKey),
    'expect' => 'valid', 'key_id' => 'long',
]);

add([
    'name' => 'key_non_ascii',
    'about' => 'A store key with non-ASCII characters: its UTF-8 bytes are the key.',
    'keys' => [['utf8', 'clé-€-🔑']],
    'sender_secret' => 'clé-€-🔑',
    'wire' => signed(sample_headers(), SAMPLE_BODY, 'clé-€-🔑'),
    'expect' => 'valid', 'key_id' => 'utf8',
]);

// ---------------------------------------------------------------------------
// Refused: the message was changed, or signed over something other than the recipe.

add([
    'name' => 'body_byte_changed',
    'about' => 'One body byte differs from what was signed ("86" -> "87").',
    'wire' => signed(sample_headers()),
    'body' => '{"id":"87","name":"test product"}',
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'body_newline_appended',
    'about' => 'A trailing newline added to the signed body.',
    'wire' => signed(sample_headers()),
    'body' => SAMPLE_BODY . "\n",
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signed_header_value_changed',
    'about' => 'X-Webhook-Action changed from update to delete after signing.',
    'wire' => replace_value(signed(sample_headers()), 'X-Webhook-Action', 'delete'),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signed_header_added',
    'about' => 'An X-Webhook-* header added after signing is covered, so the signature breaks.',
    'wire' => array_merge(signed(sample_headers()), [['X-Webhook-Custom-Thing', 'injected']]),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signed_header_removed',
    'about' => 'X-Webhook-Timestamp stripped after signing.',
    'wire' => array_values(array_filter(
        signed(sample_headers()),
        fn ($pair) => $pair[0] !== 'X-Webhook-Timestamp'
    )),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_over_unescaped_slashes',
    'about' => 'Signed over json_encode(..., JSON_UNESCAPED_SLASHES): not the recipe.',
    'wire' => (function () {
        $wire = [['X-Webhook-Entity', 'product/variant'], ['X-Webhook-Store-Id', '1']];
        $json = json_encode(signed_map($wire), JSON_UNESCAPED_SLASHES);
        return with_signature($wire, sign_over($json, SAMPLE_BODY, STORE_KEY));
    })(),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_over_unescaped_unicode',
    'about' => 'Signed over json_encode(..., JSON_UNESCAPED_UNICODE): not the recipe.',
    'wire' => (function () {
        $wire = [['X-Webhook-Entity', 'café €'], ['X-Webhook-Store-Id', '1']];
        $json = json_encode(signed_map($wire), JSON_UNESCAPED_UNICODE);
        return with_signature($wire, sign_over($json, SAMPLE_BODY, STORE_KEY));
    })(),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_over_lowercase_names',
    'about' => 'Signed over JSON with the lowercase names as received: the vendor uses its own case.',
    'wire' => (function () {
        $wire = lowercase_names(sample_headers());
        $map = [];
        foreach ($wire as [$n, $v]) {
            $map[$n] = $v;
        }
        ksort($map);
        return with_signature($wire, sign_over(json_encode($map), SAMPLE_BODY, STORE_KEY));
    })(),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_over_unsorted_json',
    'about' => 'Signed over the headers in wire order, without ksort.',
    'wire' => (function () {
        $wire = sample_headers();
        return with_signature($wire, sign_over(json_encode(received($wire)), SAMPLE_BODY, STORE_KEY));
    })(),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_over_empty_object',
    'about' => 'No signed header, signed over {} instead of PHP\'s [].',
    'wire' => with_signature([], sign_over('{}', SAMPLE_BODY, STORE_KEY)),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_over_body_only',
    'about' => 'Signed over the body alone, without the header JSON.',
    'wire' => with_signature(sample_headers(), sign_over('', SAMPLE_BODY, STORE_KEY)),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_not_base64',
    'about' => 'The signature header holds 44 characters that are not base64.',
    'wire' => with_signature(sample_headers(), 'this is not a base64 signature, not at all!!'),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_garbage_short',
    'about' => 'The signature header holds a short non-base64 string.',
    'wire' => with_signature(sample_headers(), 'not-base64!'),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_without_padding',
    'about' => 'The right MAC, base64 without its = padding.',
    'wire' => with_signature(
        sample_headers(),
        rtrim(vendor_sign(sample_headers(), SAMPLE_BODY, STORE_KEY), '=')
    ),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_hex_encoded',
    'about' => 'The right MAC, hex-encoded instead of base64.',
    'wire' => with_signature(
        sample_headers(),
        bin2hex(base64_decode(vendor_sign(sample_headers(), SAMPLE_BODY, STORE_KEY)))
    ),
    'expect' => 'InvalidSignature',
]);

// A body whose signature contains + or /, so that the two alphabets differ.
for ($i = 0; ; $i++) {
    $urlSafeBody = '{"id":"' . $i . '"}';
    $urlSafeSig = vendor_sign(sample_headers(), $urlSafeBody, STORE_KEY);
    if (strpbrk($urlSafeSig, '+/') !== false) {
        break;
    }
}
add([
    'name' => 'signature_url_safe_alphabet',
    'about' => 'The right MAC in the URL-safe alphabet (- and _): the vendor uses the standard one.',
    'wire' => with_signature(sample_headers(), strtr($urlSafeSig, '+/', '-_')),
    'body' => $urlSafeBody,
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_of_31_bytes',
    'about' => 'Valid base64 of a MAC cut to 31 bytes.',
    'wire' => with_signature(
        sample_headers(),
        base64_encode(substr(base64_decode(vendor_sign(sample_headers(), SAMPLE_BODY, STORE_KEY)), 0, 31))
    ),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'signature_missing',
    'about' => 'No X-Webhook-Signature header at all.',
    'wire' => sample_headers(),
    'expect' => 'MissingSignature',
]);

add([
    'name' => 'wrong_key',
    'about' => 'Signed with a key the receiver does not hold.',
    'sender_secret' => OLD_KEY,
    'wire' => signed(sample_headers(), SAMPLE_BODY, OLD_KEY),
    'expect' => 'InvalidSignature',
]);

add([
    'name' => 'rotation_no_key_matches',
    'about' => 'Two keys held, the delivery signed with a third.',
    'keys' => [['old', OLD_KEY], ['new', NEW_KEY]],
    'wire' => signed(sample_headers()),
    'expect' => 'InvalidSignature',
]);

// ---------------------------------------------------------------------------
// Refused as malformed (400).

add([
    'name' => 'duplicate_header_differing_in_case',
    'about' => 'X-Webhook-Action twice, once lowercase. PHP keeps the last; we refuse the ambiguity.',
    'wire' => (function () {
        $asPhpSeesIt = array_merge(sample_headers(), [['X-Webhook-Action', 'delete']]);
        $wire = sample_headers();
        $wire[] = ['x-webhook-action', 'delete'];
        return with_signature($wire, vendor_sign($asPhpSeesIt, SAMPLE_BODY, STORE_KEY));
    })(),
    'expect' => 'MalformedHeaders',
]);

add([
    'name' => 'duplicate_signature_header',
    'about' => 'Two X-Webhook-Signature headers (one lowercase), both valid-looking.',
    'wire' => (function () {
        $wire = signed(sample_headers());
        $wire[] = ['x-webhook-signature', vendor_sign(sample_headers(), SAMPLE_BODY, STORE_KEY)];
        return $wire;
    })(),
    'expect' => 'MalformedHeaders',
]);

add([
    'name' => 'non_utf8_header_value',
    'about' => "A value that is not UTF-8: PHP's json_encode returns false and the vendor's signature "
        . 'covers the body alone (so PHP accepts it); no honest JSON exists, we refuse.',
    'wire' => (function () {
        $wire = sample_headers();
        $wire[] = ['X-Webhook-Error-Message', "caf\xe9 latin-1"];
        return with_signature($wire, vendor_sign($wire, SAMPLE_BODY, STORE_KEY));
    })(),
    'expect' => 'MalformedHeaders',
]);

foreach ([
    'encoded_surrogate' => ["\xed\xa0\x80", 'U+D800 encoded in UTF-8 (CESU-style)'],
    'overlong_slash' => ["\xc0\xaf", 'an overlong encoding of /'],
    'truncated_sequence' => ["\xe2\x82", 'a euro sign cut after two of its three bytes'],
    'above_max_code_point' => ["\xf4\x90\x80\x80", 'a four-byte sequence above U+10FFFF'],
] as $suffix => [$bytes, $what]) {
    add([
        'name' => "non_utf8_value_$suffix",
        'about' => "A value with $what: invalid UTF-8 for PHP's json_encode as for Rust.",
        'wire' => (function () use ($bytes) {
            $wire = [['x-webhook-entity', "product{$bytes}x"], ['x-webhook-store-id', '1']];
            return with_signature($wire, vendor_sign($wire, SAMPLE_BODY, STORE_KEY));
        })(),
        'expect' => 'MalformedHeaders',
    ]);
}

add([
    'name' => 'timestamp_not_an_integer',
    'about' => 'Correctly signed, but X-Webhook-Timestamp is not an integer.',
    'wire' => signed(replace_value(sample_headers(), 'X-Webhook-Timestamp', '1516291592.5')),
    'expect' => 'MalformedHeaders',
]);

$out = [
    'about' => 'Known answers for API2Cart webhook signatures, computed by tests/php/generate_vectors.php '
        . 'with the vendor algorithm in tests/php/api2cart_reference.php. Do not edit by hand: regenerate.',
    'generated_with' => 'PHP ' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION,
    'fields' => [
        'headers' => 'as sent on the wire, in order: [name, value]; a value that is not UTF-8 is {"base64": ...}',
        'body' => '{"base64": ...} or {"repeat": pattern, "len": n}: pattern repeated and cut to n bytes',
        'keys' => 'the keys the receiver holds, tried in order',
        'sender_secret' => 'the key the delivery was (or would be) signed with',
        'signed_headers' => 'the map the vendor signs (vendor case, ksorted); null when PHP cannot build one',
        'expected_json_base64' => "PHP json_encode of signed_headers; null when json_encode fails or is ambiguous",
        'expected_signature' => 'vendor signature of these headers and body under sender_secret',
        'expect' => 'our verifier\'s outcome: "valid" (with key_id) or an ErrorKind name',
        'php_reference_key_id' => 'the first key the vendor\'s sample receiver (api2cart_verify) accepts, or null',
    ],
    'cases' => $cases,
];

// Pretty enough to review and diff: one line per field of a case.
function encode(mixed $value): string
{
    return json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
}
$lines = [];
foreach ($out as $key => $value) {
    if ($key !== 'cases') {
        $lines[] = '  ' . encode($key) . ': ' . encode($value);
    }
}
$caseTexts = [];
foreach ($cases as $case) {
    $fields = [];
    foreach ($case as $key => $value) {
        $fields[] = '      ' . encode($key) . ': ' . encode($value);
    }
    $caseTexts[] = "    {\n" . implode(",\n", $fields) . "\n    }";
}
$lines[] = "  \"cases\": [\n" . implode(",\n", $caseTexts) . "\n  ]";
echo "{\n", implode(",\n", $lines), "\n}\n";
