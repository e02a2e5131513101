//! Envoy sends more than 1,024 request headers once an operator raises
//! `max_headers_count`. A filter that checks headers must see every one of
//! them: if reading the map failed, the usual warn-and-continue would let the
//! request through uninspected, and adding headers would bypass the check.
//! Writing a map back is the other direction: Envoy reads at most 1,024 pairs
//! from the plugin, so a longer `set_pairs` is refused before it is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// tests assert by panicking
// Not under Miri: 1,100 headers through the emulator take minutes there, and
// the decoder's paths for them run under Miri in src/abi/wire.rs's tests.
#![cfg(not(miri))]

use proxywasm::log::warn;
use proxywasm::mock::MockHost;
use proxywasm::{Action, HttpContext, Result, http};

/// Refuses requests that carry `x-blocked`, found by scanning all headers.
struct Guard;

impl HttpContext for Guard {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let pairs = http::request_headers().pairs();
        let Ok(headers) = pairs.inspect_err(|e| warn!("cannot read request headers: {e}")) else {
            return Ok(Action::Continue);
        };
        if headers.iter().any(|(name, _)| name == b"x-blocked") {
            let _ = http::LocalResponse::new(403).send();
            return Ok(Action::Pause);
        }
        Ok(Action::Continue)
    }
}

/// `:path`, then `count` headers `x-many-NNNN: 1`, then `last`.
fn request(count: usize, last: (&str, &str)) -> Vec<(String, String)> {
    let mut headers = vec![(":path".to_owned(), "/".to_owned())];
    headers.extend((0..count).map(|i| (format!("x-many-{i:04}"), "1".to_owned())));
    headers.push((last.0.to_owned(), last.1.to_owned()));
    headers
}

fn as_refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[test]
fn a_header_check_sees_a_header_after_1100_others() {
    let host = MockHost::builder().http(|_| Guard);
    let headers = request(1100, ("x-blocked", "yes"));
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&as_refs(&headers), true),
        Action::Pause
    );
    assert_eq!(stream.local_response().map(|r| r.status_code), Some(403));
    assert!(host.logs().warn().is_empty(), "{:?}", host.logs().warn());

    let headers = request(1100, ("x-allowed", "yes"));
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&as_refs(&headers), true),
        Action::Continue
    );
    assert!(stream.local_response().is_none());
}

/// Reads the whole map and writes it back with one header appended.
struct WriteBack;

impl HttpContext for WriteBack {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        let headers = http::request_headers();
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = headers
            .pairs()
            .unwrap()
            .iter()
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        pairs.push((b"x-written".to_vec(), b"1".to_vec()));
        if let Err(e) = headers.set_pairs(&pairs) {
            warn!("{e}");
        }
        Ok(Action::Continue)
    }
}

#[test]
fn set_pairs_refuses_more_than_the_1024_pairs_envoy_reads() {
    let host = MockHost::builder().http(|_| WriteBack);
    // 1,023 + the appended one: the most Envoy reads back.
    let headers = request(1021, ("x-last", "1"));
    let mut stream = host.http_stream();
    stream.request_headers(&as_refs(&headers), true);
    assert_eq!(stream.current_request_headers().len(), 1024);
    assert_eq!(
        stream.current_request_header("x-written").as_deref(),
        Some("1")
    );
    assert!(host.logs().warn().is_empty(), "{:?}", host.logs().warn());

    // One more: refused with an error, and the map is left as it was
    // (sent, Envoy would have cleared it).
    let headers = request(1022, ("x-last", "1"));
    let mut stream = host.http_stream();
    stream.request_headers(&as_refs(&headers), true);
    assert_eq!(stream.current_request_headers().len(), 1024);
    assert_eq!(stream.current_request_header("x-written"), None);
    let warnings = host.logs().warn();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("more than 1,024 pairs"),
        "{warnings:?}"
    );
}
