// The call the three `callout` forms make (`include!`d), so they differ only
// in how they wait for the response: a token, a closure or a future.
use proxywasm::callout::HttpCall;
use proxywasm::http::StaticPairs;
use std::time::Duration;

/// The callout's request headers, serialized at compile time.
const HEADERS: StaticPairs = proxywasm::pairs![(":method", "GET"), (":path", "/"), (":authority", "backend")];

/// The call to the `backend` cluster, ready to send.
fn backend_call() -> HttpCall<'static> {
    HttpCall::new(CALLOUT_CLUSTER)
        .static_headers(HEADERS)
        .timeout(Duration::from_millis(u64::from(CALLOUT_TIMEOUT_MS)))
}
