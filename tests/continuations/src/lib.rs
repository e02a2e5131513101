//! Callouts that carry their continuation, for the dual-run tests.
//!
//! * The plugin context, on each tick, sends two HTTP callouts with
//!   closures (`HttpCall::send_then`); each closure logs which call it
//!   belongs to and counts the answers on the plugin context.
//! * An HTTP stream on `/auth` runs an async auth filter: it spawns a task
//!   that awaits a callout to the `auth` cluster, then resumes the request
//!   on a 200 or answers 403.
//! * On `/closure` the stream does the same with a closure.
//! * On `/both` a task awaits two calls in turn, then answers with both
//!   bodies: whichever response comes first, each is read from its own call.

use proxywasm::callout::HttpCall;
use proxywasm::http::{self, LocalResponse};
use proxywasm::log::info;
use proxywasm::{Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result};
use std::time::Duration;

/// The headers of every callout.
const CHECK: &[(&str, &str)] = &[
    (":method", "GET"),
    (":path", "/check"),
    (":authority", "auth"),
];

/// The plugin context: ticks every second and calls out from each tick.
#[derive(Debug, Default)]
pub struct Plugin {
    answered: u32,
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        proxywasm::time::set_tick_period(Duration::from_secs(1))
    }

    fn on_tick(&mut self) -> Result<()> {
        for name in ["first", "second"] {
            HttpCall::new("auth").headers(CHECK).send_then(
                move |plugin: &mut Plugin, response| {
                    plugin.answered += 1;
                    info!(
                        "tick callout {name}: status {:?}, {} answered",
                        response.status()?,
                        plugin.answered
                    );
                    Ok(())
                },
            )?;
        }
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter)
    }
}

/// The HTTP stream context.
#[derive(Debug)]
pub struct Filter;

/// The verdict of the auth service's answer.
fn verdict(status: Option<u16>) -> Result<()> {
    if status == Some(200) {
        http::resume_request()
    } else {
        LocalResponse::new(403).body("denied\n").send()
    }
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let path = http::request_headers().get(":path")?;
        match path.as_deref() {
            Some(b"/auth") => {
                let check = HttpCall::new("auth").headers(CHECK).send_async()?;
                self.spawn(async move {
                    let response = check.await?;
                    info!("async auth: status {:?}", response.status()?);
                    verdict(response.status()?)
                });
                Ok(Action::Pause)
            }
            Some(b"/both") => {
                let first = HttpCall::new("auth")
                    .headers(CHECK)
                    .header("x-n", "1")
                    .send_async()?;
                let second = HttpCall::new("auth")
                    .headers(CHECK)
                    .header("x-n", "2")
                    .send_async()?;
                self.spawn(async move {
                    let (first, second) = (first.await?, second.await?);
                    let mut body = first.body()?.to_vec();
                    body.extend_from_slice(&second.body()?);
                    LocalResponse::new(200).body(&body).send()
                });
                Ok(Action::Pause)
            }
            Some(b"/closure") => {
                HttpCall::new("auth")
                    .headers(CHECK)
                    .send_then(|_: &mut Filter, response| verdict(response.status()?))?;
                Ok(Action::Pause)
            }
            _ => Ok(Action::Continue),
        }
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}
