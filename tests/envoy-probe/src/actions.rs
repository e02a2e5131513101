//! The `actions` role: what Envoy does with each [`Action`] a callback
//! returns (book: reference/callbacks.md#return-values).
//!
//! A request carrying `x-probe-action: <part>:<Variant>` (`part` is
//! `headers`, `body` or `trailers`; `Variant` an [`Action`] name, or several
//! joined by `+`) gets that action from its first callback of that part (the
//! next from the next), and Continue from every other. A stream still stopped [`RESUME_AFTER`] after its last callback is
//! resumed from `on_tick` (by then the client sent everything). `on_log`
//! logs every callback the stream saw, in order, with what it answered:
//! `probe: action[PLUGIN,CASE] = headers eos=false -> Pause | body 4 ...`.
//!
//! The `upstream` role, on the upstream's listener, logs the body that
//! reached it for a request carrying `x-probe-case: CASE`, as
//! `probe: upstream[CASE] = body "..."`.

use crate::{observe, plugin_name};
use proxywasm::log::warn;
use proxywasm::{Action, ContextId, Result, http, plugin, time};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

/// The request header naming the case.
pub const ACTION_HEADER: &str = "x-probe-action";
/// The request header the upstream logs under.
pub const CASE_HEADER: &str = "x-probe-case";
/// The request header that makes the upstream answer [`BIG_RESPONSE`]
/// (the limits role's response cases, see [`crate::limits`]).
pub const BIG_RESPONSE_HEADER: &str = "x-probe-big-response";
/// The upstream's big answer: four times the limits listener's buffer limit.
pub const BIG_RESPONSE: [u8; 4 * crate::limits::LIMIT] = [b'b'; 4 * crate::limits::LIMIT];
/// How long a stopped stream waits for its resume.
pub const RESUME_AFTER: Duration = Duration::from_millis(400);

/// Every variant, by [`Action::name`].
pub const VARIANTS: &[Action] = &[
    Action::Continue,
    Action::Pause,
    Action::ContinueAndEndStream,
    Action::StopAllIterationAndBuffer,
    Action::StopAllIterationAndWatermark,
    Action::StopIterationAndWatermark,
    Action::StopIterationNoBuffer,
];

thread_local! {
    /// Streams stopped by their last callback, with its time.
    static STOPPED: RefCell<BTreeMap<u32, SystemTime>> = const { RefCell::new(BTreeMap::new()) };
    /// Streams resumed by a tick, not yet told.
    static RESUMED: RefCell<BTreeSet<u32>> = const { RefCell::new(BTreeSet::new()) };
}

/// `part:Variant` (or `part:Variant+Variant…`, one for each callback of the
/// part in turn) → the part and the actions.
pub fn parse_case(case: &str) -> Option<(String, Vec<Action>)> {
    let (part, names) = case.split_once(':')?;
    let actions = names
        .split('+')
        .map(|name| VARIANTS.iter().find(|a| a.name() == name).copied())
        .collect::<Option<Vec<Action>>>()?;
    Some((part.to_string(), actions))
}

/// Resumes the request of every stream stopped for [`RESUME_AFTER`] (the
/// actions role's `on_tick`).
///
/// # Errors
/// When the clock or a resume fails.
pub fn resume_stopped() -> Result<()> {
    let now = time::now()?;
    let due: Vec<u32> = STOPPED.with_borrow(|s| {
        s.iter()
            .filter(|(_, at)| now.duration_since(**at).unwrap_or_default() >= RESUME_AFTER)
            .map(|(id, _)| *id)
            .collect()
    });
    for id in due {
        STOPPED.with_borrow_mut(|s| s.remove(&id));
        plugin::set_effective_context(ContextId(id))?;
        http::resume_request()?;
        RESUMED.with_borrow_mut(|r| r.insert(id));
    }
    Ok(())
}

/// An actions-role stream.
#[derive(Debug)]
pub struct ActionProbe {
    id: u32,
    case: Option<(String, Vec<Action>)>,
    label: String,
    events: Vec<String>,
}

impl ActionProbe {
    /// A stream with context id `id`.
    pub fn new(id: ContextId) -> Self {
        ActionProbe {
            id: id.0,
            case: None,
            label: String::new(),
            events: Vec::new(),
        }
    }

    fn note_resume(&mut self) {
        if RESUMED.with_borrow_mut(|r| r.remove(&self.id)) {
            self.events.push("resumed".to_string());
        }
    }

    /// Records `event` and answers the case's action if this is its part's
    /// first callback, else Continue.
    fn answer(&mut self, part: &str, event: String) -> Action {
        self.note_resume();
        let action = match &mut self.case {
            Some((p, actions)) if p == part && !actions.is_empty() => actions.remove(0),
            _ => Action::Continue,
        };
        self.events.push(format!("{event} -> {}", action.name()));
        STOPPED.with_borrow_mut(|s| {
            if action == Action::Continue {
                s.remove(&self.id);
            } else {
                s.insert(self.id, time::now().unwrap_or(SystemTime::UNIX_EPOCH));
            }
        });
        action
    }

    /// `on_request_headers`.
    ///
    /// # Errors
    /// When the request headers cannot be read.
    pub fn on_request_headers(&mut self, end_of_stream: bool) -> Result<Action> {
        if let Some(case) = http::request_headers().get(ACTION_HEADER)? {
            self.label = case.to_string_lossy().into_owned();
            self.case = parse_case(&self.label);
            if self.case.is_none() {
                warn!("probe: unknown case {}", self.label);
            }
        }
        Ok(self.answer("headers", format!("headers eos={end_of_stream}")))
    }

    /// `on_request_body`.
    ///
    /// # Errors
    /// When the body cannot be read.
    pub fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
        let body = http::request_body()
            .read_all()?
            .to_string_lossy()
            .into_owned();
        Ok(self.answer("body", format!("body {size} eos={end_of_stream} {body:?}")))
    }

    /// `on_request_trailers`.
    pub fn on_request_trailers(&mut self) -> Action {
        self.answer("trailers", "trailers".to_string())
    }

    /// `on_log`: logs what the stream saw.
    pub fn on_log(&self) {
        if self.label.is_empty() {
            return;
        }
        let mut events = self.events.clone();
        if RESUMED.with_borrow_mut(|r| r.remove(&self.id)) {
            events.push("resumed".to_string());
        }
        STOPPED.with_borrow_mut(|s| s.remove(&self.id));
        observe(
            &format!("action[{},{}]", plugin_name(), self.label),
            &events.join(" | "),
        );
    }
}

/// An upstream-role stream: collects the body that arrived.
#[derive(Debug, Default)]
pub struct UpstreamProbe {
    case: String,
    body: String,
}

impl UpstreamProbe {
    /// `on_request_headers`: holds the headers (the upstream listener sets
    /// `allow_on_headers_stop_iteration`, so the body still arrives) until
    /// the request ended, so that the direct response waits for it.
    ///
    /// # Errors
    /// When the request headers cannot be read.
    pub fn on_request_headers(&mut self, end_of_stream: bool) -> Result<Action> {
        if http::request_headers().get(BIG_RESPONSE_HEADER)?.is_some() {
            http::LocalResponse::new(200)
                .body(&BIG_RESPONSE)
                .details("probe_big_response")
                .send()?;
            return Ok(Action::Pause);
        }
        if let Some(case) = http::request_headers().get(CASE_HEADER)? {
            self.case = case.to_string_lossy().into_owned();
        }
        Ok(if self.case.is_empty() || end_of_stream {
            Action::Continue
        } else {
            Action::Pause
        })
    }

    /// `on_request_body`: buffers until the end, reading the whole buffer.
    ///
    /// # Errors
    /// When the body cannot be read.
    pub fn on_request_body(&mut self, end_of_stream: bool) -> Result<Action> {
        if self.case.is_empty() {
            return Ok(Action::Continue);
        }
        self.body = http::request_body()
            .read_all()?
            .to_string_lossy()
            .into_owned();
        Ok(if end_of_stream {
            Action::Continue
        } else {
            Action::Pause
        })
    }

    /// `on_log`: logs the body.
    pub fn on_log(&self) {
        if !self.case.is_empty() {
            observe(
                &format!("upstream[{}]", self.case),
                &format!("body {:?}", self.body),
            );
        }
    }
}
