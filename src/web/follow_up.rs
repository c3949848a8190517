//! Step 10, the reporter's side: `/{lang}/follow-up`, where the receipt
//! is the only key. No account, cookie or script: a POST-only form to type
//! the code (never in a URL, never logged), the answer page, and the form
//! that adds information to the report.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/{lang}/follow-up` | the receipt form ([`receipt_form`]) |
//! | POST | `/{lang}/follow-up` | [`lookup_route`]: admit, derive, read the answer, show it |
//! | POST | `/{lang}/follow-up/add` | [`add_route`]: admit, validate, seal with the receipt, store, thank |
//!
//! **No oracle.** The server cannot tell a receipt nobody has answered from
//! one that never existed ([`crate::follow_up::FollowUp::lookup`] gives
//! `None` for both), so both get the same "received, no news yet" page,
//! byte for byte the same but for the code echoed back. A code that is not
//! even the right shape gets that page too, never an error, and every
//! answer page is padded to a multiple of [`PAGE_BUCKET`] bytes so the
//! three cannot be told apart by size either. Every such page says how a
//! code looks, so a reporter who mistyped one can check it.
//!
//! **Additions** are validated like a report
//! ([`Report::validate_addition`]), sealed to the analysts' keys with the
//! original receipt inside the document, and acknowledged only once the
//! store says they are durable; anything wrong comes back as the same form
//! with everything typed kept.

use super::State;
use super::admission::Action;
use super::circuit::Circuit;
use super::form::{self, FormError};
use super::pages::{self, Marks, Page};
use super::routes::{
    BodyProblem, Resp, html, message, not_allowed, read_body, read_body_max, redirect,
    refuse_unreadable, respond, store_durably, wait_headers,
};
use crate::answers::Answer;
use crate::report::{ADDITION_FIELDS, FormInput, Lang, Problem, Receipt, ReceivedDate, Report};
use crate::seal::seal_padded;
use crate::ui::i18n::tr;
use bytes::Bytes;
use hyper::body::Body;
use hyper::header;
use hyper::{Method, Request, StatusCode};
use maud::{Markup, html};
use std::sync::atomic::Ordering;
use std::time::Duration;
use zeroize::Zeroizing;

/// A lookup's body: one short field. Anything longer is not a receipt.
const LOOKUP_MAX_BODY: usize = 4096;
/// Answer pages are padded to a multiple of this many bytes.
pub const PAGE_BUCKET: usize = 4096;
/// Of a code that is not a receipt, at most this many characters are
/// shown back (and carried to the addition form).
const MAX_ECHO_CHARS: usize = 40;
/// How long an addition may wait for an in-flight slot, as a report does.
const SUBMISSION_WAIT: Duration = Duration::from_secs(5);

/// Why a follow-up form is shown again instead of the next page:
/// `wait` (this circuit's limit) or `busy` (every lookup thread taken).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Notice {
    Wait,
    Busy,
}

impl Notice {
    fn id(self) -> &'static str {
        match self {
            Notice::Wait => "wait",
            Notice::Busy => "busy",
        }
    }
}

/// `/{lang}/follow-up`: GET the form, POST a receipt.
pub async fn lookup_route<B>(req: Request<B>, lang: Lang, state: &State) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match *req.method() {
        Method::GET | Method::HEAD => html(StatusCode::OK, receipt_form(lang, state, "", None)),
        Method::POST => lookup(req, lang, state).await,
        _ => not_allowed(state, lang, "GET, HEAD, POST"),
    }
}

/// `/{lang}/follow-up/add`: only ever posted to from an answer page. A
/// GET (a bookmark, a reload) has no receipt: back to the receipt form.
pub async fn add_route<B>(req: Request<B>, lang: Lang, state: &State) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match *req.method() {
        Method::GET | Method::HEAD => redirect(StatusCode::SEE_OTHER, &Page::FollowUp.path(lang)),
        Method::POST => add(req, lang, state).await,
        _ => not_allowed(state, lang, "GET, HEAD, POST"),
    }
}

/// How long a lookup refused as busy waits before its page is sent.
const BUSY_LOOKUP_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

fn body_problem(state: &State, lang: Lang, p: BodyProblem) -> Resp {
    match p {
        BodyProblem::TooLarge => message(state, lang, StatusCode::PAYLOAD_TOO_LARGE, "toolarge"),
        BodyProblem::Slow => message(state, lang, StatusCode::REQUEST_TIMEOUT, "timeout"),
        BodyProblem::Broken => message(state, lang, StatusCode::BAD_REQUEST, "badrequest"),
    }
}

/// What a code that is not a receipt is shown back as: trimmed, and cut
/// short, so the page stays in its size bucket.
fn echo_of(typed: &str) -> Zeroizing<String> {
    Zeroizing::new(typed.trim().chars().take(MAX_ECHO_CHARS).collect())
}

/// POST `/{lang}/follow-up`: the receipt is derived on a lookup thread and
/// its answer, if any, opened; then forgotten. Nothing about the request
/// is logged or written; only counters move.
async fn lookup<B>(req: Request<B>, lang: Lang, state: &State) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Some(refused) = refuse_unreadable(&req, state, lang) {
        return refused;
    }
    let admitted = state.admission.admit(Circuit::of(&req), Action::Lookup);
    let body = match read_body_max(req.into_body(), state, LOOKUP_MAX_BODY).await {
        Ok(b) => b,
        Err(p) => return body_problem(state, lang, p),
    };
    let typed = match form::parse_follow_up(&body) {
        Ok((_, receipt)) => receipt,
        Err(FormError::Encoding | FormError::Duplicate) => {
            state.counters.malformed.fetch_add(1, Ordering::Relaxed);
            return message(state, lang, StatusCode::BAD_REQUEST, "badrequest");
        }
    };
    drop(body);
    if let Err(wait) = admitted {
        // The code typed stays in the box: nothing to type again.
        let page = receipt_form(lang, state, &echo_of(&typed), Some(Notice::Wait));
        return wait_headers(html(StatusCode::TOO_MANY_REQUESTS, page), wait);
    }
    state.counters.lookups.fetch_add(1, Ordering::Relaxed);
    let Some(receipt) = Receipt::parse(&typed) else {
        // Not a receipt at all: the same page as a receipt with no news.
        return answer_page(lang, state, &echo_of(&typed), None);
    };
    drop(typed);
    let code = Zeroizing::new(receipt.expose().to_owned());
    match state.follow_up.lookup(receipt).await {
        Ok(answer) => answer_page(lang, state, &code, answer.as_ref()),
        Err(_busy) => {
            state.counters.lookups_busy.fetch_add(1, Ordering::Relaxed);
            // Answered after a pause, not at once: a client that retries as
            // soon as it is answered would turn these cheap refusals into
            // thousands of requests a second (measured: 7,800/s from 32
            // clients, slowing reports more than the lookups did). The
            // pause holds no thread; a person is told to wait anyway.
            tokio::time::sleep(BUSY_LOOKUP_PAUSE).await;
            let page = receipt_form(lang, state, &code, Some(Notice::Busy));
            let mut r = html(StatusCode::SERVICE_UNAVAILABLE, page);
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
            r
        }
    }
}

/// The answer page, padded to its size bucket (see the module's notes).
fn answer_page(lang: Lang, state: &State, code: &str, answer: Option<&Answer>) -> Resp {
    let mut page = answer_markup(lang, state, code, answer).into_string();
    pad_to_bucket(&mut page);
    respond(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Bytes::from(page),
    )
}

/// Pad `page` with trailing white space (which a browser ignores) to the
/// next multiple of [`PAGE_BUCKET`] bytes.
pub fn pad_to_bucket(page: &mut String) {
    let target = (page.len() + 1).div_ceil(PAGE_BUCKET) * PAGE_BUCKET;
    page.push('\n');
    page.extend(std::iter::repeat_n(' ', target - page.len()));
}

/// POST `/{lang}/follow-up/add`: as a report is submitted (admission,
/// quota, body limit, in-flight slot), then validated as an addition and
/// sealed with the receipt inside; "thank you" only once it is durable.
async fn add<B>(req: Request<B>, lang: Lang, state: &State) -> Resp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Some(refused) = refuse_unreadable(&req, state, lang) {
        return refused;
    }
    let admitted = state.admission.admit(Circuit::of(&req), Action::Submit);
    if admitted.is_ok() && state.store.refusal(0).is_some() {
        state.counters.refused_full.fetch_add(1, Ordering::Relaxed);
        return message(state, lang, StatusCode::SERVICE_UNAVAILABLE, "full");
    }
    let body = match read_body(req.into_body(), state).await {
        Ok(b) => b,
        Err(p) => return body_problem(state, lang, p),
    };
    let (input, typed) = match form::parse_follow_up(&body) {
        Ok(parsed) => parsed,
        Err(FormError::Encoding | FormError::Duplicate) => {
            state.counters.malformed.fetch_add(1, Ordering::Relaxed);
            return message(state, lang, StatusCode::BAD_REQUEST, "badrequest");
        }
    };
    drop(body);
    let receipt = Receipt::parse(&typed);
    // What the form carries along: the canonical code, or what was typed.
    let code = match &receipt {
        Some(r) => Zeroizing::new(r.expose().to_owned()),
        None => echo_of(&typed),
    };
    drop(typed);
    if let Err(wait) = admitted {
        let page = add_form_page(lang, state, &code, &input, &[], false, Some(Notice::Wait));
        return wait_headers(html(StatusCode::TOO_MANY_REQUESTS, page), wait);
    }
    // As for a report: the slot bounds sealing and committing.
    let permit = tokio::time::timeout(SUBMISSION_WAIT, state.submissions.acquire());
    let Ok(Ok(_permit)) = permit.await else {
        state.counters.busy.fetch_add(1, Ordering::Relaxed);
        let page = add_form_page(lang, state, &code, &input, &[], false, Some(Notice::Busy));
        return html(StatusCode::SERVICE_UNAVAILABLE, page);
    };
    let validated = Report::validate_addition(&input, lang);
    let (receipt, addition) = match (receipt, validated) {
        (Some(r), Ok(a)) => (r, a),
        (receipt, validated) => {
            state.counters.invalid.fetch_add(1, Ordering::Relaxed);
            let problems = validated.err().unwrap_or_default();
            let page = add_form_page(
                lang,
                state,
                &code,
                &input,
                &problems,
                receipt.is_none(),
                None,
            );
            return html(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    drop(input);
    let padded = addition.encode_padded(&receipt, &ReceivedDate::today());
    drop(addition);
    let sealed = match seal_padded(&padded, &state.recipients) {
        Ok(s) => s,
        Err(_) => return message(state, lang, StatusCode::SERVICE_UNAVAILABLE, "full"),
    };
    drop(padded);
    if let Err(refused) = store_durably(state, lang, sealed).await {
        return refused;
    }
    state.counters.additions.fetch_add(1, Ordering::Relaxed);
    html(StatusCode::OK, added(lang, state, &code))
}

// ---------------------------------------------------------------------------
// Pages

/// A notice above a form saying why it came back (`{notice}-title`,
/// `followup-{notice}-body` or `add-{notice}-body`).
fn notice_box(lang: Lang, notice: Notice, body_prefix: &str) -> Markup {
    html! {
        section class="summary" id="problems" tabindex="-1" autofocus role="status" aria-labelledby="problems-title" {
            h2 id="problems-title" { (tr(lang, &format!("{}-title", notice.id()))) }
            p { (tr(lang, &format!("{body_prefix}-{}-body", notice.id()))) }
        }
    }
}

/// GET `/{lang}/follow-up`: type the receipt. `typed` is shown again when
/// the form comes back (a wait, a busy moment).
fn receipt_form(lang: Lang, state: &State, typed: &str, notice: Option<Notice>) -> Markup {
    let t = |id: &str| tr(lang, id);
    let main = html! {
        h1 { (t("followup-title")) }
        @if let Some(n) = notice { (notice_box(lang, n, "followup")) }
        p class="lead" { (t("followup-intro")) }
        form id="followup-form" method="post" action=(Page::FollowUp.path(lang)) accept-charset="utf-8" autocomplete="off" {
            div class="field" {
                label for="receipt" { (t("followup-receipt-label")) }
                p class="hint" id="receipt-hint" { (t("followup-receipt-hint")) }
                input type="text" id="receipt" name="receipt" class="code-input" dir="ltr"
                    required autocomplete="off" autocapitalize="characters" spellcheck="false"
                    maxlength="64" value=(typed) aria-describedby="receipt-hint";
            }
            button type="submit" class="button" { (t("followup-submit")) }
        }
        p class="small" { (t("followup-private")) }
        p class="small" { (t("followup-lost")) }
    };
    let title = match notice {
        Some(n) => format!(
            "{} – {}",
            tr(lang, &format!("{}-title", n.id())),
            t("followup-title")
        ),
        None => t("followup-title"),
    };
    pages::layout(lang, &state.site, Page::FollowUp, &title, main)
}

/// The code, big and left to right, as on the thank-you page.
fn code_box(lang: Lang, code: &str) -> Markup {
    html! {
        div class="receipt" {
            p { (tr(lang, "followup-code-label")) }
            p class="code" { strong id="receipt-code" dir="ltr" { (code) } }
        }
    }
}

/// The status, the analysts' answer, and the form to add information.
/// With no answer: "received, no news yet".
fn answer_markup(lang: Lang, state: &State, code: &str, answer: Option<&Answer>) -> Markup {
    let t = |id: &str| tr(lang, id);
    let status = answer.map_or(crate::answers::Status::Received, Answer::status);
    let reply = answer.and_then(Answer::reply);
    let text = answer.map(Answer::text).filter(|s| !s.is_empty());
    let empty = FormInput::default();
    let main = html! {
        h1 { (t("followup-title")) }
        (code_box(lang, code))
        section class="status" id="status" aria-labelledby="status-title" {
            h2 id="status-title" { (t("followup-status-title")) }
            p { strong id="status-text" { (t(&format!("status-{}", status.id()))) } }
            p { (t(&format!("status-{}-body", status.id()))) }
        }
        @if reply.is_some() || text.is_some() {
            section class="answer" id="answer" aria-labelledby="answer-title" {
                h2 id="answer-title" { (t("followup-answer-title")) }
                @if let Some(r) = reply { p id="reply" { (t(&format!("reply-{}", r.id()))) } }
                @if let Some(text) = text {
                    p class="small" { (t("followup-text-label")) }
                    p class="answer-text" id="answer-text" dir="auto" { (text) }
                }
            }
        }
        p class="small" { (t("followup-check-code")) }
        (add_section(lang, code, &empty, &[], false))
    };
    pages::layout(
        lang,
        &state.site,
        Page::FollowUp,
        &t("followup-title"),
        main,
    )
}

/// The "add information" form, posting the code along. `receipt_bad`: the
/// code is not a receipt, so it is shown in a box of its own to correct.
fn add_section(
    lang: Lang,
    code: &str,
    input: &FormInput,
    problems: &[Problem],
    receipt_bad: bool,
) -> Markup {
    let t = |id: &str| tr(lang, id);
    let m = Marks {
        lang,
        problems,
        fields: ADDITION_FIELDS,
    };
    html! {
        section class="add" id="add" aria-labelledby="add-title" {
            h2 id="add-title" { (t("add-title")) }
            p { (t("add-intro")) }
            form id="add-form" method="post" action=(format!("/{}/follow-up/add", lang.id())) accept-charset="utf-8" {
                @if receipt_bad {
                    div class="field invalid" {
                        label for="receipt" { (t("followup-receipt-label")) }
                        p class="hint" id="receipt-hint" { (t("followup-receipt-hint")) }
                        p class="error" id="receipt-error" { (t("err-receipt-invalid")) }
                        input type="text" id="receipt" name="receipt" class="code-input" dir="ltr"
                            required autocomplete="off" autocapitalize="characters" spellcheck="false"
                            maxlength="64" value=(code) aria-invalid="true"
                            aria-describedby="receipt-hint receipt-error";
                    }
                } @else {
                    input type="hidden" name="receipt" value=(code);
                }
                (pages::platform_fields(&m, input))
                (pages::accounts_field(&m, input))
                (pages::urls_field(&m, input))
                (pages::description_field(&m, input))
                button type="submit" class="button" { (t("add-submit")) }
            }
        }
    }
}

/// The addition form again: with what is wrong, or why it was not sent,
/// and everything typed kept.
fn add_form_page(
    lang: Lang,
    state: &State,
    code: &str,
    input: &FormInput,
    problems: &[Problem],
    receipt_bad: bool,
    notice: Option<Notice>,
) -> Markup {
    let t = |id: &str| tr(lang, id);
    let wrong = receipt_bad || !problems.is_empty();
    let main = html! {
        h1 { (t("add-title")) }
        @if let Some(n) = notice {
            (notice_box(lang, n, "add"))
        } @else if wrong {
            section class="summary" id="problems" tabindex="-1" autofocus aria-labelledby="problems-title" {
                h2 id="problems-title" { (t("add-errors-title")) }
                ul {
                    @if receipt_bad { li { a href="#receipt" { (t("err-receipt-invalid")) } } }
                    @for p in problems {
                        li { a href=(format!("#{}", p.field().id())) { (pages::problem_text(lang, *p, Some(ADDITION_FIELDS))) } }
                    }
                }
            }
        }
        @if !receipt_bad { (code_box(lang, code)) }
        (add_section(lang, code, input, problems, receipt_bad))
    };
    let title = match notice {
        Some(n) => format!(
            "{} – {}",
            tr(lang, &format!("{}-title", n.id())),
            t("add-title")
        ),
        None if wrong => format!("{} {}", t("error-prefix"), t("add-title")),
        None => t("add-title"),
    };
    pages::layout(lang, &state.site, Page::FollowUp, &title, main)
}

/// The addition is durable: say so, and how to come back.
fn added(lang: Lang, state: &State, code: &str) -> Markup {
    let t = |id: &str| tr(lang, id);
    let main = html! {
        h1 { (t("add-thanks-title")) }
        p { (t("add-thanks-body")) }
        (code_box(lang, code))
        p { (t("add-thanks-next")) }
        p { a class="button" href=(Page::FollowUp.path(lang)) { (t("add-back")) } }
        p { (t("thanks-close")) }
    };
    pages::layout(
        lang,
        &state.site,
        Page::FollowUp,
        &t("add-thanks-title"),
        main,
    )
}
