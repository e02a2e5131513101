//! Code that panics inside a host callback (here: test code run with
//! `MockHost::run`) unwinds to the test, is logged at critical level by the
//! SDK's panic hook (as a trap would be in Envoy), and leaves the host usable.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::MockHost;
use proxywasm::{Action, HttpContext};
use std::panic::{AssertUnwindSafe, catch_unwind};

struct Noop;
impl HttpContext for Noop {}

#[test]
fn the_panic_reaches_the_test_and_the_host_still_works() {
    let host = MockHost::builder().http(|_| Noop);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        host.run(|| panic!("boom in plugin code"))
    }));
    assert!(caught.is_err());
    let critical = host.logs().critical();
    assert_eq!(critical.len(), 2, "{critical:?}");
    assert!(
        critical[0].starts_with("panicked at tests/a_panic_inside"),
        "{}",
        critical[0]
    );
    assert_eq!(critical[1], "boom in plugin code");

    // No frame was left behind: streams and hostcalls work as before.
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Continue
    );
    assert!(host.run(proxywasm::time::now).is_ok());
}

#[test]
fn a_long_message_is_logged_whole_after_its_location() {
    let host = MockHost::builder().echo_logs(false).http(|_| Noop);
    let message = "0123456789".repeat(100);
    let caught = catch_unwind(AssertUnwindSafe(|| host.run(|| panic!("{message}"))));
    assert!(caught.is_err());
    let critical = host.logs().critical();
    // `panicked at <file>:<line>:<column>:`
    let location = critical[0].strip_prefix(concat!("panicked at ", file!(), ":"));
    let numbers = location.and_then(|l| l.strip_suffix(':'));
    let numbers: Vec<&str> = numbers.map_or(vec![], |n| n.split(':').collect());
    assert_eq!(numbers.len(), 2, "{critical:?}");
    assert!(
        numbers.iter().all(|n| n.parse::<u32>().is_ok()),
        "{critical:?}"
    );
    assert_eq!(critical[1], message);
    assert_eq!(critical.len(), 2);
}
