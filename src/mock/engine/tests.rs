//! Unit tests of the hostcall semantics, over a bare [`HostState`].

use super::policy::Phase;
use super::state::VmConfig;
use super::state::status::*;
use super::state::{HostState, Payload};
use super::stream::{self, Context, HttpStream, Part, Root, Side};
use super::world::MockWorld;
use crate::abi::wire::{buffer, map};
use crate::logging::LogLevel;
use proxywasm_abi::Export;

fn state() -> HostState {
    let mut s = HostState::new(
        VmConfig {
            echo_logs: false,
            ..VmConfig::default()
        },
        MockWorld::new(),
    );
    let root = s.alloc_id();
    s.contexts.insert(root, Context::Root(Root::default()));
    s.roots.push(root);
    s
}

fn with_stream(s: &mut HostState) -> u32 {
    let id = s.alloc_id();
    s.contexts.insert(
        id,
        Context::Http(HttpStream {
            root: 1,
            ..HttpStream::default()
        }),
    );
    id
}

/// Leaves the running callback for `export` (on its context).
fn switch_to(s: &mut HostState, export: Export) {
    s.pop_frame();
    s.push_frame(export.context_id(), Some(export), Payload::None);
}

#[test]
fn request_headers_vanish_once_the_request_continued() {
    let mut s = state();
    let id = with_stream(&mut s);
    s.http_mut(id).unwrap().request.headers = Some(stream::from_text(&[(":path", "/a")]));
    switch_to(&mut s, Side::Request.export(Part::Headers, id, 0, false));
    assert_eq!(
        s.get_header_map_value(map::REQUEST_HEADERS, b":PATH"),
        Ok(b"/a".to_vec())
    );
    switch_to(&mut s, Side::Response.export(Part::Headers, id, 0, false));
    assert_eq!(
        s.get_header_map_value(map::REQUEST_HEADERS, b":path"),
        Err(BAD_ARGUMENT)
    );
    assert_eq!(s.get_header_map_pairs(map::REQUEST_HEADERS), Ok(Vec::new()));
    assert_eq!(
        s.add_header_map_value(map::REQUEST_HEADERS, b"a", b"b"),
        Err(BAD_ARGUMENT)
    );
    assert_eq!(s.get_property(b"request\0path"), Err(NOT_FOUND));
    s.config.fidelity.header_lifetime = false;
    assert_eq!(
        s.get_header_map_value(map::REQUEST_HEADERS, b":path"),
        Ok(b"/a".to_vec())
    );
    assert_eq!(s.get_property(b"request\0path"), Ok(b"/a".to_vec()));
}

#[test]
fn buffers_follow_envoys_edit_forms() {
    let mut s = state();
    let id = with_stream(&mut s);
    s.http_mut(id).unwrap().request.buffer = b"hello".to_vec();
    switch_to(&mut s, Side::Request.export(Part::Body, id, 0, false));
    assert_eq!(
        s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 1, 3),
        Ok(b"ell".to_vec())
    );
    assert_eq!(
        s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 9, 3),
        Ok(Vec::new())
    );
    assert_eq!(
        s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, 2, 1, b"x"),
        Err(BAD_ARGUMENT)
    );
    s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, 1, b"J")
        .unwrap();
    s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, u32::MAX, 0, b"!")
        .unwrap();
    assert_eq!(
        s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, u32::MAX),
        Ok(b"Jello!".to_vec())
    );
    assert_eq!(s.get_buffer_status(buffer::HTTP_REQUEST_BODY), Ok((6, 0)));
    assert_eq!(
        s.set_buffer_bytes(buffer::VM_CONFIGURATION, 0, 0, b""),
        Err(BAD_ARGUMENT)
    );
    assert_eq!(
        s.get_buffer_bytes(buffer::HTTP_CALL_RESPONSE_BODY, 0, 1),
        Err(NOT_FOUND)
    );
    assert_eq!(s.get_buffer_bytes(9, 0, 1), Err(BAD_ARGUMENT));
    switch_to(&mut s, Side::Response.export(Part::Headers, id, 0, false));
    assert_eq!(
        s.get_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, 10),
        Ok(Vec::new())
    );
    assert_eq!(
        s.set_buffer_bytes(buffer::HTTP_REQUEST_BODY, 0, 0, b"x"),
        Err(BAD_ARGUMENT)
    );
}

#[test]
fn shared_data_cas_rules() {
    let mut s = state();
    s.push_frame(1, None, Payload::None);
    assert_eq!(s.get_shared_data(b"k"), Err(NOT_FOUND));
    s.set_shared_data(b"k", b"1", 77).unwrap(); // missing key: created regardless of CAS
    let (value, cas) = s.get_shared_data(b"k").unwrap();
    assert_eq!(value, b"1");
    assert_eq!(
        s.set_shared_data(b"k", b"2", cas.wrapping_add(1)),
        Err(CAS_MISMATCH)
    );
    s.set_shared_data(b"k", b"2", cas).unwrap();
    assert_eq!(s.set_shared_data(b"k", b"3", cas), Err(CAS_MISMATCH));
    s.set_shared_data(b"k", b"3", 0).unwrap();
    assert_eq!(s.get_shared_data(b"k").unwrap().0, b"3");
}

#[test]
fn metrics_follow_envoy() {
    let mut s = state();
    s.push_frame(1, None, Payload::None);
    assert_eq!(s.define_metric(3, b"x"), Err(BAD_ARGUMENT));
    let counter = s.define_metric(0, b"c").unwrap();
    assert_eq!(counter % 4, 0);
    assert_eq!(s.increment_metric(counter, 0), Err(BAD_ARGUMENT));
    s.increment_metric(counter, 2).unwrap();
    s.record_metric(counter, 3).unwrap(); // counters add
    assert_eq!(s.get_metric(counter), Ok(5));
    let again = s.define_metric(0, b"c").unwrap();
    assert_ne!(again, counter);
    assert_eq!(s.get_metric(again), Ok(5));
    let histogram = s.define_metric(2, b"h").unwrap();
    assert_eq!(s.get_metric(histogram), Err(BAD_ARGUMENT));
    assert_eq!(s.increment_metric(histogram, 1), Err(BAD_ARGUMENT));
    assert_eq!(s.get_metric(99), Err(NOT_FOUND));
}

#[test]
fn queues_and_streams_status_codes() {
    let mut s = state();
    s.vm_index = s.world.register_vm(std::rc::Weak::new());
    s.push_frame(1, None, Payload::None);
    let q = s.register_shared_queue(b"q").unwrap();
    assert_eq!(s.register_shared_queue(b"q"), Ok(q));
    assert_eq!(s.resolve_shared_queue(b"", b"q"), Ok(q));
    assert_eq!(s.resolve_shared_queue(b"other", b"q"), Err(NOT_FOUND));
    assert_eq!(s.dequeue_shared_queue(q), Err(EMPTY));
    assert_eq!(s.enqueue_shared_queue(q + 1, b"x"), Err(NOT_FOUND));
    s.enqueue_shared_queue(q, b"x").unwrap();
    assert_eq!(s.dequeue_shared_queue(q), Ok(b"x".to_vec()));
    assert_eq!(s.continue_stream(3), Err(UNIMPLEMENTED));
    assert_eq!(s.continue_stream(4), Err(BAD_ARGUMENT));
    assert_eq!(s.close_stream(4), Err(BAD_ARGUMENT));
    assert_eq!(s.set_effective_context(42), Err(BAD_ARGUMENT));
    assert_eq!(s.done(), Err(NOT_FOUND));
    assert_eq!(s.set_property(b"x", b"y"), Err(NOT_FOUND)); // no stream
    assert_eq!(s.log(6, b"x"), Err(BAD_ARGUMENT));
}

#[test]
fn http_call_checks_required_headers_and_tokens() {
    let mut s = state();
    s.push_frame(1, None, Payload::None);
    let headers = crate::abi::wire::serialize_pairs(&[
        (":method", "GET"),
        (":path", "/"),
        (":authority", "a"),
    ]);
    assert_eq!(
        s.http_call(
            b"c",
            &crate::abi::wire::serialize_pairs(&[(":path", "/")]),
            b"",
            b"",
            10
        ),
        Err(BAD_ARGUMENT)
    );
    assert_eq!(
        s.http_call(b"c", &headers, b"", b"", 1 << 31),
        Err(BAD_ARGUMENT)
    );
    let token = s.http_call(b"c", &headers, b"", b"", 0).unwrap();
    assert_eq!(token % 4, 0);
    assert_eq!(s.http_calls[&token].record.timeout, None);
    let grpc = s.grpc_call(b"c", b"s", b"m", b"", b"msg", 5).unwrap();
    assert_eq!(grpc % 4, 1);
    assert_eq!(s.grpc_send(grpc, b"x", false), Err(BAD_ARGUMENT));
    assert_eq!(s.grpc_cancel(token), Err(BAD_ARGUMENT));
    let stream = s.grpc_stream(b"c", b"s", b"m", b"").unwrap();
    assert_eq!(stream % 4, 2);
    s.grpc_send(stream, b"1", true).unwrap();
    assert!(s.grpc_calls[&stream].record.local_closed);
    s.grpc_cancel(stream).unwrap();
    assert_eq!(s.grpc_cancel(stream), Err(NOT_FOUND));
}

#[test]
fn start_up_allows_only_logging() {
    let mut s = state();
    s.push_frame(0, Some(Export::Initialize), Payload::None);
    assert_eq!(s.admit("proxy_log"), Ok(()));
    assert_eq!(s.admit("emscripten_notify_memory_growth"), Ok(()));
    let trap = s.admit("proxy_get_current_time_nanoseconds").unwrap_err();
    assert!(
        trap.starts_with(
            "restricted_callback: proxy_get_current_time_nanoseconds in _initialize (context 0): \
             a hostcall during start-up"
        ),
        "{trap}"
    );
    assert_eq!(s.violations.len(), 1);
    s.config.fidelity.restricted_start_up = false;
    assert_eq!(s.admit("proxy_get_current_time_nanoseconds"), Ok(()));
    s.pop_frame();
    s.config.fidelity.restricted_start_up = true;
    s.push_frame(1, None, Payload::None);
    assert_eq!(s.admit("proxy_get_current_time_nanoseconds"), Ok(()));
    // Inside the allocation export: the same policy, its own list.
    s.handing_over = 1;
    assert_eq!(s.phase(), Phase::Allocating);
    assert_eq!(s.admit("proxy_log"), Ok(()));
    assert_eq!(s.admit("fd_write"), Ok(()));
    let trap = s.admit("proxy_done").unwrap_err();
    assert!(trap.contains("inside the allocation export"), "{trap}");
    assert_eq!(s.violations.len(), 2);
}

#[test]
fn wasi_clock_and_fd_write() {
    let mut s = state();
    assert_eq!(s.wasi_clock_time_get(0), Ok(s.now));
    assert_eq!(s.wasi_clock_time_get(1), Ok(0));
    assert_eq!(s.wasi_clock_time_get(2), Err(58));
    s.wasi_fd_write(2, b"oops\n").unwrap();
    assert_eq!(s.logs[0].message, "oops");
    assert_eq!(s.logs[0].level, LogLevel::Error);
    assert_eq!(s.wasi_fd_write(3, b"x"), Err(8));
}

#[test]
fn a_second_local_reply_from_on_response_headers_breaks_an_envoy_rule() {
    let mut s = state();
    let id = with_stream(&mut s);
    // From a request callback Envoy sends the first of two and ignores the
    // second: no rule is broken.
    switch_to(&mut s, Side::Request.export(Part::Headers, id, 0, false));
    for status in [451, 452] {
        assert_eq!(s.send_local_response(status, b"", b"", &[], -1), Ok(()));
    }
    assert!(s.violations.is_empty());
    // From on_response_headers Envoy 1.40 crashes on the second.
    switch_to(&mut s, Side::Response.export(Part::Headers, id, 0, false));
    assert_eq!(s.send_local_response(451, b"", b"", &[], -1), Ok(()));
    assert!(s.violations.is_empty());
    assert_eq!(s.send_local_response(452, b"", b"", &[], -1), Ok(()));
    assert_eq!(s.violations.len(), 1);
    let violation = s.violations[0].to_string();
    assert!(violation.contains("Envoy 1.40 crashes"), "{violation}");
}
