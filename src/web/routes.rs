//! Step 2: one request in, one response out. The routing table:
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/` | language choice ([`pages::choose`]) |
//! | GET | `/{ar,fr,en}/` | what happened? the offered categories ([`pages::home`]) |
//! | GET | `/{lang}/report/{category}` | the form for that harm ([`pages::form`]) |
//! | POST | `/{lang}/report/{category}` | [`submit`]: admit, validate, seal, store, thank |
//! | GET | `/{lang}/report` | the form's old address: see other → `/{lang}/` |
//! | POST | `/{lang}/report` | a form from before the harms had their own: category in the body |
//! | GET | `/{lang}/follow-up` | the receipt form ([`super::follow_up`]) |
//! | POST | `/{lang}/follow-up` | look the receipt up: status, answer, "add information" |
//! | POST | `/{lang}/follow-up/add` | an addition: admit, validate, seal with the receipt, store, thank |
//! | GET | `/{lang}/about`, `/{lang}/help` | content pages |
//! | GET | `/static/style.css` | the one stylesheet |
//!
//! Every response carries [`secure_headers`]. Nothing about a request is
//! logged; only counters are kept. A submission first passes its circuit's
//! [`admission`](super::admission) bucket; past it, [`too_many_reports`].

use super::State;
use super::admission::{Action, Wait};
use super::circuit::Circuit;
use super::form::{self, FormError};
use super::pages::{self, FormState, Page};
use crate::report::{Category, Lang, Report};
use crate::seal::seal_report;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use maud::Markup;
use std::sync::atomic::Ordering;
use std::time::Duration;
use zeroize::Zeroizing;

/// How long a read report may wait for an in-flight slot before "busy".
const SUBMISSION_WAIT: Duration = Duration::from_secs(5);

pub type Resp = Response<Full<Bytes>>;

pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers every response carries, whatever it is.
pub fn secure_headers(h: &mut hyper::HeaderMap) {
    let set = |h: &mut hyper::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, "content-security-policy", CSP);
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "cache-control", "no-store");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(h, "cross-origin-resource-policy", "same-origin");
    set(h, "cross-origin-embedder-policy", "require-corp");
    set(
        h,
        "permissions-policy",
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()",
    );
}

pub(super) fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure_headers(r.headers_mut());
    r
}

pub(super) fn html(status: StatusCode, m: Markup) -> Resp {
    respond(
        status,
        "text/html; charset=utf-8",
        Bytes::from(m.into_string()),
    )
}

pub(super) fn redirect(status: StatusCode, to: &str) -> Resp {
    let mut r = respond(status, "text/plain; charset=utf-8", Bytes::new());
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A short translated page for an error or refusal (`{kind}-title/-body`).
pub fn message(state: &State, lang: Lang, status: StatusCode, kind: &str) -> Resp {
    html(status, pages::message(lang, &state.site, kind))
}

/// 429 with `Retry-After`: the circuit is over its per-circuit limit.
pub(super) fn wait_headers(mut r: Resp, wait: Wait) -> Resp {
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.retry_after_secs()),
    );
    r
}

/// The short translated "please wait a moment" page (429, `Retry-After`),
/// for a route that has nothing typed to show again.
pub fn wait_a_moment(state: &State, lang: Lang, wait: Wait) -> Resp {
    wait_headers(
        message(state, lang, StatusCode::TOO_MANY_REQUESTS, "wait"),
        wait,
    )
}

/// A report over its circuit's limit: read it (capped as usual) only to
/// show the form again exactly as it was filled, under "please wait a
/// moment". Nothing is sealed or stored; the reporter sends it again.
async fn too_many_reports<B>(
    req: Request<B>,
    lang: Lang,
    state: &State,
    path: Option<Category>,
    wait: Wait,
) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let page = match read_body(req.into_body(), state).await {
        Ok(body) => form::parse(&body).ok().and_then(|input| {
            // The harm is in the path, or (an old form) in the body.
            let category = path.or_else(|| Category::from_id(&input.category))?;
            let state_of_form = FormState {
                input: Some(&input),
                problems: &[],
                notice: Some("wait"),
            };
            Some(pages::form(lang, &state.site, category, state_of_form))
        }),
        Err(_) => None,
    };
    match page {
        Some(page) => wait_headers(html(StatusCode::TOO_MANY_REQUESTS, page), wait),
        None => wait_a_moment(state, lang, wait),
    }
}

pub(super) fn not_allowed(state: &State, lang: Lang, allow: &'static str) -> Resp {
    let mut r = message(state, lang, StatusCode::METHOD_NOT_ALLOWED, "method");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// Route one request. Generic over the body so tests can call it directly.
pub async fn handle<B>(req: Request<B>, state: &State) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = req.uri().path();
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let default = state.site.default_language;

    if path == "/" {
        return if get {
            html(StatusCode::OK, pages::choose(&state.site))
        } else {
            not_allowed(state, default, "GET, HEAD")
        };
    }
    if path == crate::ui::STYLESHEET_PATH {
        return if get {
            respond(
                StatusCode::OK,
                "text/css; charset=utf-8",
                Bytes::from_static(crate::ui::STYLESHEET.as_bytes()),
            )
        } else {
            not_allowed(state, default, "GET, HEAD")
        };
    }

    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let first = parts.next().unwrap_or("");
    let rest = parts.next();
    let Some(lang) = Lang::from_id(first) else {
        return message(state, default, StatusCode::NOT_FOUND, "notfound");
    };
    match (rest, get) {
        (None, true) => redirect(StatusCode::PERMANENT_REDIRECT, &format!("/{}/", lang.id())),
        (Some(""), true) => html(StatusCode::OK, pages::home(lang, &state.site, &[])),
        (Some("about"), true) => html(StatusCode::OK, pages::about(lang, &state.site)),
        (Some("help"), true) => html(StatusCode::OK, pages::help(lang, &state.site)),
        // The single form's old address: links to it lead to the choice,
        // and a form loaded before the change still arrives.
        (Some("report"), true) => redirect(StatusCode::SEE_OTHER, &Page::Home.path(lang)),
        (Some("report"), false) if req.method() == Method::POST => {
            submit(req, lang, state, None).await
        }
        (Some("report"), false) => not_allowed(state, lang, "GET, HEAD, POST"),
        (Some("follow-up"), _) => super::follow_up::lookup_route(req, lang, state).await,
        (Some("follow-up/add"), _) => super::follow_up::add_route(req, lang, state).await,
        (Some(r), _) if r.starts_with("report/") => {
            match Category::from_id(&r["report/".len()..]) {
                Some(category) => report(req, lang, category, state).await,
                None => message(state, lang, StatusCode::NOT_FOUND, "notfound"),
            }
        }
        (None | Some("" | "about" | "help"), false) => not_allowed(state, lang, "GET, HEAD"),
        _ => message(state, lang, StatusCode::NOT_FOUND, "notfound"),
    }
}

/// `/{lang}/report/{category}`: the form for one harm, and where it posts.
async fn report<B>(req: Request<B>, lang: Lang, category: Category, state: &State) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let offered = state.site.categories.contains(&category);
    match *req.method() {
        Method::GET | Method::HEAD if offered => html(
            StatusCode::OK,
            pages::form(
                lang,
                &state.site,
                category,
                FormState {
                    input: None,
                    problems: &[],
                    notice: None,
                },
            ),
        ),
        // A harm this hotline does not take (an old link, or the operator
        // changed `site.categories`): the choice of those it does.
        Method::GET | Method::HEAD => redirect(StatusCode::SEE_OTHER, &Page::Home.path(lang)),
        Method::POST => submit(req, lang, state, Some(category)).await,
        _ => not_allowed(state, lang, "GET, HEAD, POST"),
    }
}

fn is_form(req: &Request<impl Body>) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

pub(super) enum BodyProblem {
    TooLarge,
    Slow,
    Broken,
}

/// Read the whole body into a zeroizing buffer, never more than the limit
/// and never for longer than the body timeout.
pub(super) async fn read_body<B>(body: B, state: &State) -> Result<Zeroizing<Vec<u8>>, BodyProblem>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    read_body_max(body, state, state.limits.max_body_bytes).await
}

/// [`read_body`] with a limit of `max` bytes.
pub(super) async fn read_body_max<B>(
    body: B,
    state: &State,
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, BodyProblem>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Sized by the Content-Length the client sent (up to 64 KiB; a body
    // without one starts at 4 KiB and doubles): the whole capacity is wiped
    // when the buffer drops, one volatile byte at a time, so a fixed 64 KiB
    // buffer cost ~30 µs of every ~3 KiB report.
    let hint = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    let initial = if hint == 0 { 4096 } else { hint };
    let mut limited = Limited::new(body, max);
    let mut buf = Zeroizing::new(Vec::with_capacity(initial.min(max).min(64 * 1024)));
    let read = async {
        while let Some(frame) = limited.frame().await {
            let frame = frame.map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    BodyProblem::TooLarge
                } else {
                    BodyProblem::Broken
                }
            })?;
            if let Some(data) = frame.data_ref() {
                if buf.len() + data.len() > buf.capacity() {
                    // Grow by hand so the old buffer is zeroized, not freed with plaintext.
                    let mut bigger = Zeroizing::new(Vec::with_capacity(
                        (buf.len() + data.len()).max(2 * buf.capacity()),
                    ));
                    bigger.extend_from_slice(&buf);
                    buf = bigger;
                }
                buf.extend_from_slice(data);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(state.limits.body_timeout(), read).await {
        Ok(Ok(())) => Ok(buf),
        Ok(Err(p)) => Err(p),
        Err(_) => Err(BodyProblem::Slow),
    }
}

/// POST `/{lang}/report/{category}` (or, from an old form, `/{lang}/report`
/// with `category` in the body): the reporter sees "thank you" only once
/// the sealed report is durable; any failure before that is a page saying
/// so. Invalid input comes back as the same form, everything kept.
async fn submit<B>(req: Request<B>, lang: Lang, state: &State, path: Option<Category>) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Some(refused) = refuse_unreadable(&req, state, lang) {
        return refused;
    }
    if let Err(wait) = state.admission.admit(Circuit::of(&req), Action::Submit) {
        return too_many_reports(req, lang, state, path, wait).await;
    }
    if state.store.refusal(0).is_some() {
        state.counters.refused_full.fetch_add(1, Ordering::Relaxed);
        return message(state, lang, StatusCode::SERVICE_UNAVAILABLE, "full");
    }
    let body = match read_body(req.into_body(), state).await {
        Ok(b) => b,
        Err(BodyProblem::TooLarge) => {
            return message(state, lang, StatusCode::PAYLOAD_TOO_LARGE, "toolarge");
        }
        Err(BodyProblem::Slow) => {
            return message(state, lang, StatusCode::REQUEST_TIMEOUT, "timeout");
        }
        Err(BodyProblem::Broken) => {
            return message(state, lang, StatusCode::BAD_REQUEST, "badrequest");
        }
    };
    // Only now take an in-flight slot: it bounds sealing and committing,
    // and a client trickling its body holds a connection, not a slot. A
    // burst waits its turn (a slot frees within milliseconds); only a
    // sustained flood gets "busy", and the reporter's text is not lost:
    // the browser still has it when they go back.
    let permit = tokio::time::timeout(SUBMISSION_WAIT, state.submissions.acquire());
    let Ok(Ok(_permit)) = permit.await else {
        state.counters.busy.fetch_add(1, Ordering::Relaxed);
        return message(state, lang, StatusCode::SERVICE_UNAVAILABLE, "busy");
    };
    let mut input = match form::parse(&body) {
        Ok(i) => i,
        Err(FormError::Encoding | FormError::Duplicate) => {
            state.counters.malformed.fetch_add(1, Ordering::Relaxed);
            return message(state, lang, StatusCode::BAD_REQUEST, "badrequest");
        }
    };
    drop(body);
    if let Some(c) = path {
        // The address says which harm; a `category` in the body does not.
        input.category.clear();
        input.category.push_str(c.id());
    }
    let report = match Report::validate(&input, lang, &state.site.categories) {
        Ok(r) => r,
        Err(problems) => {
            state.counters.invalid.fetch_add(1, Ordering::Relaxed);
            let category =
                Category::from_id(&input.category).filter(|c| state.site.categories.contains(c));
            let page = match category {
                Some(c) => pages::form(
                    lang,
                    &state.site,
                    c,
                    FormState {
                        input: Some(&input),
                        problems: &problems,
                        notice: None,
                    },
                ),
                // No harm this hotline takes: the choice, saying so.
                None => pages::home(lang, &state.site, &problems),
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    drop(input);
    let category = report.category();
    let (sealed, receipt) = match seal_report(&report, &state.recipients) {
        Ok(s) => s,
        Err(_) => return message(state, lang, StatusCode::SERVICE_UNAVAILABLE, "full"),
    };
    drop(report);
    if let Err(refused) = store_durably(state, lang, sealed).await {
        return refused;
    }
    state.counters.accepted.fetch_add(1, Ordering::Relaxed);
    html(
        StatusCode::OK,
        pages::thanks(lang, &state.site, &receipt, category),
    )
}

/// Before a form is read: refuse another content type, or a declared
/// length past the limit.
pub(super) fn refuse_unreadable<B: Body>(
    req: &Request<B>,
    state: &State,
    lang: Lang,
) -> Option<Resp> {
    if !is_form(req) {
        return Some(message(
            state,
            lang,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    declared
        .is_some_and(|n| n > state.limits.max_body_bytes as u64)
        .then(|| message(state, lang, StatusCode::PAYLOAD_TOO_LARGE, "toolarge"))
}

/// Store a sealed report or addition. `Ok` only once it is durable;
/// otherwise the page to answer with (counted, and a failing store told
/// to the operator once).
pub(super) async fn store_durably(
    state: &State,
    lang: Lang,
    sealed: crate::seal::SealedReport,
) -> Result<(), Resp> {
    state.store.put(sealed).await.map_err(|e| {
        if e.is_full() {
            state.counters.refused_full.fetch_add(1, Ordering::Relaxed);
        } else {
            state.counters.store_errors.fetch_add(1, Ordering::Relaxed);
            state.report_store_error(&e);
        }
        message(state, lang, StatusCode::SERVICE_UNAVAILABLE, "full")
    })
}
