//! Byte strings in failure messages: where two differ, and how to show them.

/// Where two byte strings start to differ.
pub fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// Bytes shown as a Rust string literal, so control bytes are visible.
pub fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}
