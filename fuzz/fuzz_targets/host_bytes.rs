//! The `HostBytes` hand-off: bytes the host places in plugin memory through
//! the allocation export (`proxy_on_memory_allocate`), owned and freed by the
//! plugin. The emulator plays the host, so every value takes the real path
//! (hostcall, allocation of the exact size, copy, `HostBytes` taking
//! ownership): properties, shared data, queue items, request bodies (whole
//! and in arbitrary windows) and header maps. Each value must arrive intact,
//! its text views must agree with `std`'s, and every conversion must keep or
//! free the allocation exactly once (AddressSanitizer checks the frees and
//! leaks).
#![no_main]

use std::cell::RefCell;
use std::rc::Rc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proxywasm::mock::MockHost;
use proxywasm::{Action, HostBytes, HttpContext, http, property, shared, Result};

#[derive(Arbitrary, Debug)]
struct Input {
    value: Vec<u8>,
    /// A window of the request body: `Buffer::read(start, max_size)`.
    start: u16,
    max_size: u16,
    headers: Vec<(String, String)>,
    /// Which conversion consumes each value.
    conversion: u8,
}

/// Every view of `bytes` against `expected`, then one consuming conversion.
fn check(bytes: HostBytes, expected: &[u8], conversion: u8) {
    assert_eq!(bytes.as_bytes(), expected);
    assert_eq!(bytes.len(), expected.len());
    assert_eq!(bytes.to_str().ok(), std::str::from_utf8(expected).ok());
    if let (Err(ours), Err(theirs)) = (bytes.to_str(), std::str::from_utf8(expected)) {
        assert_eq!(ours.valid_up_to(), theirs.valid_up_to());
    }
    assert_eq!(bytes.to_string_lossy(), String::from_utf8_lossy(expected));
    assert!(!format!("{bytes:?}").is_empty());
    let copy = bytes.clone();
    assert!(copy == bytes);
    assert!(bytes == *expected);
    match conversion % 4 {
        0 => assert_eq!(bytes.into_vec(), expected),
        1 => match bytes.into_string() {
            Ok(text) => assert_eq!(text.as_bytes(), expected),
            Err(back) => {
                assert!(std::str::from_utf8(expected).is_err());
                assert_eq!(back.as_bytes(), expected);
            }
        },
        2 => assert_eq!(HostBytes::from(bytes.into_vec()).as_bytes(), expected),
        _ => drop(bytes),
    }
    assert_eq!(copy.into_vec(), expected);
}

#[derive(Default)]
struct Seen {
    body: Option<(HostBytes, Option<HostBytes>)>,
    headers: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

struct Reader {
    seen: Rc<RefCell<Seen>>,
    window: (usize, usize),
}

impl HttpContext for Reader {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let pairs = http::request_headers().pairs();
        let pairs = pairs.map(|p| p.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect());
        self.seen.borrow_mut().headers = pairs.ok();
        Ok(Action::Continue)
    }

    fn on_request_body(&mut self, _body_size: usize, end_of_stream: bool) -> Result<Action> {
        if !end_of_stream {
            return Ok(Action::Pause);
        }
        let body = http::request_body();
        if let Ok(whole) = body.read_all() {
            let window = body.read(self.window.0, self.window.1).ok().flatten();
            self.seen.borrow_mut().body = Some((whole, window));
        }
        Ok(Action::Continue)
    }
}

fuzz_target!(|input: Input| {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let reader_seen = Rc::clone(&seen);
    let window = (usize::from(input.start), usize::from(input.max_size));
    let host = MockHost::builder()
        .echo_logs(false)
        .property(&["fuzz", "value"], input.value.clone())
        .http(move |_| Reader {
            seen: Rc::clone(&reader_seen),
            window,
        });
    assert!(host.start());

    let from_property = host.run(|| property::get(&["fuzz", "value"]));
    match from_property {
        Ok(Some(bytes)) => check(bytes, &input.value, input.conversion),
        // The host sends no buffer for an empty value.
        Ok(None) => assert!(input.value.is_empty()),
        Err(e) => panic!("property read failed: {e}"),
    }

    host.shared_data().set("fuzz", &input.value);
    match host.run(|| shared::get("fuzz")) {
        Ok(Some((bytes, _cas))) => check(bytes, &input.value, input.conversion.wrapping_add(1)),
        Ok(None) => assert!(input.value.is_empty()),
        Err(e) => panic!("shared data read failed: {e}"),
    }

    if let Ok(queue) = host.run(|| shared::register_queue("fuzz")) {
        host.shared_data().enqueue(queue, &input.value);
        match host.run(|| shared::dequeue(queue)) {
            Ok(Some(bytes)) => check(bytes, &input.value, input.conversion.wrapping_add(2)),
            Ok(None) => assert!(input.value.is_empty()),
            Err(e) => panic!("dequeue failed: {e}"),
        }
    }

    let headers: Vec<(&str, &str)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut stream = host.http_stream();
    stream.request_headers(&headers, false);
    let host_view = stream.current_request_headers();
    let plugin_view = seen.borrow_mut().headers.take();
    if let Some(plugin_view) = plugin_view {
        let lossy: Vec<(String, String)> = plugin_view
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        assert_eq!(lossy, host_view, "the plugin reads the map the host holds");
    }
    stream.request_body(&input.value, true);
    let body = seen.borrow_mut().body.take();
    if let Some((whole, window)) = body {
        if let Some(part) = window {
            let from = usize::from(input.start).min(input.value.len());
            let to = from
                .saturating_add(usize::from(input.max_size))
                .min(input.value.len());
            check(
                part,
                &input.value[from..to],
                input.conversion.wrapping_add(3),
            );
        }
        check(whole, &input.value, input.conversion);
    }
    stream.complete();
});
