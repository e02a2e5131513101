// Plugin logic shared verbatim by the three variants (`include!`d), so the
// benchmark compares SDK overhead, not differently written user code.

/// The response header `read_headers` sets.
pub const SUM_HEADER: &str = "x-header-bytes";
/// The header `add_header` adds, and its value.
pub const ADDED_HEADER: (&str, &str) = ("x-bench", "proxywasm-bench");
/// The cluster the `callout` plugin calls.
pub const CALLOUT_CLUSTER: &str = "backend";
/// The callout's timeout in milliseconds.
pub const CALLOUT_TIMEOUT_MS: u32 = 1000;

/// Writes `n` in decimal into `buf` and returns the digits.
pub fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// The body rewrite: ASCII upper-case.
pub fn rewrite(body: &[u8]) -> Vec<u8> {
    body.to_ascii_uppercase()
}
