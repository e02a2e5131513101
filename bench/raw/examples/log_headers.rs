//! `log_headers`: logs every request header at info as `name: value`.
pub use bench_raw::*;

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_headers(
    _context_id: u32,
    _num_headers: usize,
    _end_of_stream: u32,
) -> u32 {
    let Some(pairs) = header_map_pairs(REQUEST_HEADERS) else {
        return CONTINUE;
    };
    let bytes = pairs.bytes();
    let word = |at: usize| Some(u32_at(bytes, at)? as usize);
    let count = word(0).unwrap_or(0);
    let mut text = 4 + count * 8;
    let mut line = Vec::new();
    for i in 0..count {
        let (Some(name_len), Some(value_len)) = (word(4 + i * 8), word(8 + i * 8)) else {
            return CONTINUE;
        };
        let (Some(name), Some(value)) = (
            bytes.get(text..text + name_len),
            bytes.get(text + name_len + 1..text + name_len + 1 + value_len),
        ) else {
            return CONTINUE;
        };
        text += name_len + value_len + 2;
        line.clear();
        line.extend_from_slice(name);
        line.extend_from_slice(b": ");
        line.extend_from_slice(value);
        // SAFETY: the range is valid for the call.
        unsafe { proxy_log(LOG_INFO, line.as_ptr(), line.len()) };
    }
    CONTINUE
}
