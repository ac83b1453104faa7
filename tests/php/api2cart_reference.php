<?php
// The vendor's signing algorithm, as published by API2Cart (seed 001), kept as
// close to the published PHP as possible. It is the independent oracle for our
// Rust encoder: nothing here is derived from the crate's code.

// Signature over $headers (name => value, names in the vendor's case) and the raw body.
function api2cart_signature(array $headers, string $rawBody, string $storeKey): string
{
    $headersForJson = [];
    foreach ($headers as $name => $value) {
        if (stripos($name, 'X-Webhook-') === 0) {
            $headersForJson[$name] = $value;
        }
    }
    unset($headersForJson['X-Webhook-Signature']);
    ksort($headersForJson);
    $json = json_encode($headersForJson);
    $data = $json . $rawBody;
    return base64_encode(hash_hmac('sha256', $data, $storeKey, true));
}

// The JSON the vendor signs, for comparing our encoder byte for byte
// (false when PHP cannot encode it, e.g. invalid UTF-8).
function api2cart_header_json(array $headers)
{
    unset($headers['X-Webhook-Signature']);
    ksort($headers);
    return json_encode($headers);
}

// The vendor's case for a header name as it arrived (HTTP/2 and many servers lowercase it).
function api2cart_vendor_case(string $name): string
{
    return ucwords(strtolower($name), '-');
}

// The receiver side of the published example: headers as they arrived, any case.
function api2cart_verify(array $headersAsReceived, string $rawBody, string $storeKey): bool
{
    $headers = [];
    foreach ($headersAsReceived as $name => $value) {
        $headers[api2cart_vendor_case($name)] = $value;
    }
    if (!isset($headers['X-Webhook-Signature'])) {
        return false;
    }
    $signatureFromRequest = $headers['X-Webhook-Signature'];
    return hash_equals($signatureFromRequest, api2cart_signature($headers, $rawBody, $storeKey));
}
