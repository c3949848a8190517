//! The desk's listener: HTTP/1.1 on 127.0.0.1 only (a random port unless
//! one is given), for the workstation's own browser. Every page's address
//! starts with a secret made at start and printed on the terminal, compared
//! in constant time; any Host header but this listener's own is refused
//! (so a web page cannot reach the desk by DNS rebinding). No JavaScript,
//! no cookies, the reporter pages' strict headers. Forms post to addresses
//! that carry the secret, so another page cannot post to them either.

use super::assess::{self, Typed};
use super::disk::Disk;
use super::export::{self, Signer};
use super::import::{self, Imported};
use super::ledger::{Ledger, Op, Plain, ReporterAnswer};
use super::pages::{self, Base, Notice};
use super::queue::{self, Filter};
use crate::keys::Identity;
use crate::report::Lang;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use maud::{Markup, html};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The largest form the desk reads.
const MAX_BODY: usize = 64 * 1024;

pub const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

type Resp = Response<Full<Bytes>>;

/// Everything the desk needs while it runs.
pub struct Desk {
    pub disk: Disk,
    pub ledger: Ledger,
    pub identities: Vec<Identity>,
    /// Who assessments are recorded as.
    pub analyst: String,
    /// Where exports are written.
    pub exports: PathBuf,
    pub signer: Option<Signer>,
}

struct Shared {
    desk: Mutex<Desk>,
    secret: Zeroizing<String>,
    /// `127.0.0.1:PORT` and `localhost:PORT`.
    hosts: [String; 2],
    lang: Lang,
}

/// A fresh secret: 128 random bits in lowercase hex.
pub fn new_secret() -> Zeroizing<String> {
    let mut b = Zeroizing::new([0u8; 16]);
    getrandom::fill(&mut b[..]).expect("the system's random source works");
    Zeroizing::new(data_encoding::HEXLOWER.encode(&b[..]))
}

/// Bind 127.0.0.1:`port` (0: any free port). Returns the listener and the
/// address the analyst opens.
pub async fn bind(port: u16) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let l = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

/// Serve until the process is stopped (or `stop` resolves).
pub async fn run(
    listener: tokio::net::TcpListener,
    desk: Desk,
    secret: Zeroizing<String>,
    lang: Lang,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let shared = Arc::new(Shared {
        desk: Mutex::new(desk),
        secret,
        hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        lang,
    });
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            a = listener.accept() => a?,
            () = &mut stop => return Ok(()),
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(req, &shared).await) }
            });
            let _ = http1::Builder::new()
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (k, v) in [
        ("content-security-policy", CSP),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    r
}

fn html_page(status: StatusCode, m: Markup) -> Resp {
    respond(status, "text/html; charset=utf-8", m.into_string())
}

fn plain(status: StatusCode, text: &'static str) -> Resp {
    respond(status, "text/plain; charset=utf-8", text)
}

fn see_other(to: &str) -> Resp {
    let mut r = respond(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn form(req: Request<Incoming>) -> Option<Typed> {
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .ok()?
        .to_bytes();
    let body = Zeroizing::new(body.to_vec());
    Some(Typed::from_pairs(
        form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())),
    ))
}

/// `None` for a GET, the form for a POST; a response for anything else.
async fn posted_form(req: Request<Incoming>, b: &Base<'_>) -> Result<Option<Typed>, Resp> {
    match *req.method() {
        Method::GET => Ok(None),
        Method::POST => match form(req).await {
            Some(t) => Ok(Some(t)),
            None => Err(html_page(
                StatusCode::BAD_REQUEST,
                pages::message(b, "desk-bad-request"),
            )),
        },
        _ => Err(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n",
        )),
    }
}

async fn handle(req: Request<Incoming>, s: &Shared) -> Resp {
    let host_ok = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| s.hosts.iter().any(|x| x.eq_ignore_ascii_case(h)));
    if !host_ok {
        return plain(StatusCode::MISDIRECTED_REQUEST, "refused\n");
    }
    let path = req.uri().path().to_owned();
    if path == crate::ui::STYLESHEET_PATH && req.method() == Method::GET {
        return respond(
            StatusCode::OK,
            "text/css; charset=utf-8",
            crate::ui::STYLESHEET,
        );
    }
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let given = parts.next().unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(s.secret.as_bytes())) {
        // Nothing about the desk for a caller without the secret.
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    let Some(lang) = parts.next().and_then(Lang::from_id) else {
        return see_other(&format!("/{}/{}/", &*s.secret, s.lang.id()));
    };
    let rest = parts.next().unwrap_or("").to_owned();
    let b = Base {
        secret: &s.secret,
        lang,
    };
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let segs: Vec<&str> = rest.split('/').collect();
    match (&method, segs.as_slice()) {
        (&Method::GET, [""]) => {
            let desk = s.desk.lock().expect("no panic holds the desk");
            let f = Filter::from_query(&query);
            let (urls, total) = queue::page(&desk.ledger, &f);
            let notice = match query.split('&').find_map(|kv| kv.strip_prefix("done=")) {
                Some("saved") => Some(Notice::Saved),
                _ => None,
            };
            html_page(
                StatusCode::OK,
                pages::queue(&b, &desk.ledger, &f, &urls, total, notice),
            )
        }
        (&Method::POST, ["import"]) => {
            let Some(t) = form(req).await else {
                return html_page(
                    StatusCode::BAD_REQUEST,
                    pages::message(&b, "desk-bad-request"),
                );
            };
            let path = PathBuf::from(t.get("path").unwrap_or("").trim());
            let mut guard = s.desk.lock().expect("no panic holds the desk");
            let desk = &mut *guard;
            let notice = match import::import(
                &path,
                &desk.identities,
                &mut desk.disk,
                &mut desk.ledger,
                &super::today(),
            ) {
                Ok(done) => Notice::Imported(imported(&b, &desk.ledger, &done)),
                Err(e) => Notice::Failed(import_error(&e)),
            };
            let f = Filter::default();
            let (urls, total) = queue::page(&desk.ledger, &f);
            html_page(
                StatusCode::OK,
                pages::queue(&b, &desk.ledger, &f, &urls, total, Some(notice)),
            )
        }
        (&Method::POST, ["export"]) => {
            let desk = s.desk.lock().expect("no panic holds the desk");
            let notice = match write_exports(&desk) {
                Ok((files, skipped)) => Notice::Exported(
                    files,
                    match (&desk.signer, skipped) {
                        (None, _) => Some(crate::ui::i18n::tr(lang, "desk-export-answers-off")),
                        (Some(_), Some(why)) => Some(crate::ui::i18n::tr_args(
                            lang,
                            "desk-export-answers-skipped",
                            &[("why", why.into())],
                        )),
                        (Some(_), None) => None,
                    },
                ),
                Err(e) => Notice::Failed(e.to_string()),
            };
            let f = Filter::default();
            let (urls, total) = queue::page(&desk.ledger, &f);
            html_page(
                StatusCode::OK,
                pages::queue(&b, &desk.ledger, &f, &urls, total, Some(notice)),
            )
        }
        (_, ["url", id]) => {
            let id = (*id).to_owned();
            let posted = match posted_form(req, &b).await {
                Ok(p) => p,
                Err(r) => return r,
            };
            let mut guard = s.desk.lock().expect("no panic holds the desk");
            let desk = &mut *guard;
            let Some(e) = desk.ledger.url_by_id(&id) else {
                return html_page(StatusCode::NOT_FOUND, pages::message(&b, "desk-not-found"));
            };
            let Some(typed) = posted else {
                let typed = desk
                    .ledger
                    .assessment(&e.url)
                    .map(Typed::from_assessment)
                    .unwrap_or_default();
                return html_page(
                    StatusCode::OK,
                    pages::url_page(&b, &desk.ledger, e, &typed, &[]),
                );
            };
            match assess::check(&typed, &desk.analyst, &super::today()) {
                Err(problems) => html_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    pages::url_page(&b, &desk.ledger, e, &typed, &problems),
                ),
                Ok(a) => {
                    let url = e.url.dup();
                    match desk
                        .disk
                        .commit(&mut desk.ledger, Op::Assess { url, assessment: a })
                    {
                        Ok(()) => see_other(&b.href("?done=saved")),
                        Err(e) => html_page(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            html! { p { (e.to_string()) } },
                        ),
                    }
                }
            }
        }
        (_, ["report", id]) => {
            let id = (*id).to_owned();
            let posted = match posted_form(req, &b).await {
                Ok(p) => p,
                Err(r) => return r,
            };
            let mut guard = s.desk.lock().expect("no panic holds the desk");
            let desk = &mut *guard;
            let Some(r) = desk.ledger.report_by_id(&id) else {
                return html_page(StatusCode::NOT_FOUND, pages::message(&b, "desk-not-found"));
            };
            let Some(typed) = posted else {
                let typed = match desk.ledger.state.answers.get(&*r.receipt) {
                    Some(a) => Typed::from_pairs(
                        [
                            ("status", a.status.id().to_owned()),
                            (
                                "reply",
                                a.reply.map(|x| x.id().to_owned()).unwrap_or_default(),
                            ),
                            ("text", (*a.text).to_owned()),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v)),
                    ),
                    None => Typed::default(),
                };
                return html_page(
                    StatusCode::OK,
                    pages::report_page(&b, &desk.ledger, r, &typed, &[]),
                );
            };
            let status = typed
                .get("status")
                .and_then(crate::answers::Status::from_id);
            let reply = typed.get("reply").map(crate::answers::Reply::from_id);
            let text = typed.get("text").unwrap_or("").trim();
            let checked = match (status, reply) {
                (Some(st), None | Some(Some(_))) => {
                    let reply = reply.flatten();
                    crate::answers::Answer::new(st, reply, text)
                        .map(|_| (st, reply))
                        .map_err(|_| assess::Problem {
                            field: "text",
                            message: "desk-err-note-long",
                        })
                }
                (None, _) => Err(assess::Problem {
                    field: "status",
                    message: "desk-err-required",
                }),
                (_, Some(None)) => Err(assess::Problem {
                    field: "reply",
                    message: "desk-err-choice",
                }),
            };
            match checked {
                Err(p) => html_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    pages::report_page(&b, &desk.ledger, r, &typed, &[p]),
                ),
                Ok((status, reply)) => {
                    let op = Op::Answer {
                        receipt: r.receipt.dup(),
                        answer: ReporterAnswer {
                            status,
                            reply,
                            text: Plain::copy(text),
                            by: desk.analyst.clone(),
                            day: super::today(),
                        },
                    };
                    match desk.disk.commit(&mut desk.ledger, op) {
                        Ok(()) => see_other(&b.href("?done=saved")),
                        Err(e) => html_page(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            html! { p { (e.to_string()) } },
                        ),
                    }
                }
            }
        }
        _ => html_page(StatusCode::NOT_FOUND, pages::message(&b, "desk-not-found")),
    }
}

fn imported(b: &Base<'_>, l: &Ledger, done: &Imported) -> Markup {
    let t = |id: &str, args: &[(&str, fluent_bundle::FluentValue<'_>)]| {
        crate::ui::i18n::tr_args(b.lang, id, args)
    };
    match done {
        Imported::Again { digest, day } => html! {
            p { (t("desk-imported-again", &[("day", pages::day(day).into())])) }
            p { code dir="ltr" { (digest) } }
        },
        Imported::New {
            digest,
            added,
            duplicates,
            already_assessed,
        } => html! {
            p { (t("desk-imported", &[("added", (*added).into()), ("digest", digest[..16.min(digest.len())].into())])) }
            @if *duplicates > 0 { p { (t("desk-imported-dupes", &[("dupes", (*duplicates).into())])) } }
            p { (t("desk-imported-purge", &[])) }
            p { code dir="ltr" { (digest) } }
            @if !already_assessed.is_empty() {
                p { (t("desk-already-assessed-list", &[])) }
                ul { @for id in already_assessed {
                    @if let Some(e) = l.url_by_id(id) {
                        li { code class="url" dir="ltr" { (&*e.url) } " "
                            @if let Some(a) = l.assessment(&e.url) { (pages::already(b, a)) } }
                    }
                } }
            }
        },
    }
}

fn import_error(e: &import::ImportError) -> String {
    match e {
        import::ImportError::Bad { bad, .. } => {
            let mut s = e.to_string();
            for (id, why) in bad {
                s.push_str(&format!("\n{id}: {why}"));
            }
            s
        }
        _ => e.to_string(),
    }
}

/// Every export, fresh; the answers file only with a signing key and answers.
pub fn write_exports(desk: &Desk) -> std::io::Result<(Vec<String>, Option<String>)> {
    let day = super::today();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&desk.exports)?;
    let mut files = vec![
        export::iccam_csv(&desk.ledger, &desk.exports, &day)?,
        export::by_host_csv(&desk.ledger, &desk.exports, &day)?,
        export::ledger_jsonl(&desk.ledger, &desk.exports, &day)?,
    ];
    let skipped = match &desk.signer {
        None => None,
        Some(signer) => match export::answers_files(&desk.ledger, &desk.exports, signer) {
            Ok(written) => {
                files.extend(written.into_iter().map(|(p, _)| p));
                None
            }
            Err(e) => Some(e.to_string()),
        },
    };
    Ok((
        files.iter().map(|p| p.display().to_string()).collect(),
        skipped,
    ))
}

use std::os::unix::fs::DirBuilderExt;
