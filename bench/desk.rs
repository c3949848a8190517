//! The desk at scale (`bench/desk.sh`): a ledger of 100k reports naming
//! 200k distinct URLs, sealed to one X25519 key, then timed: opening it
//! (read, decrypt, parse, index), and serving one page of the queue
//! (filter, order, render) as the desk does. Prints JSON.
//!
//!     cargo run --release --no-default-features --example desk -- [REPORTS] [URLS]

use salama::desk::disk::Disk;
use salama::desk::ledger::{Bundle, Op, Plain, Report, ReportUrl};
use salama::desk::pages::{self, Base};
use salama::desk::queue::{self, Filter};
use salama::report::{Category, Kind, Lang};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let reports: usize = args.next().map_or(100_000, |a| a.parse().unwrap());
    let urls: usize = args.next().map_or(200_000, |a| a.parse().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let id_path = tmp.path().join("id");
    {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        std::fs::write(&id_path, id.to_string().expose_secret()).unwrap();
    }
    let ids = salama::keys::load_identities(&id_path, || unreachable!()).unwrap();
    let dir = tmp.path().join("ledger");

    // Each report names 2–3 URLs; every URL is named at least once.
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let build = Instant::now();
    let (mut disk, mut ledger) = Disk::open(&dir, &ids).unwrap();
    let per_bundle = 10_000;
    let mut u = 0usize;
    for b in 0..reports.div_ceil(per_bundle) {
        let mut batch = Vec::new();
        for i in b * per_bundle..((b + 1) * per_bundle).min(reports) {
            let n = 2 + (next() % 2) as usize;
            let mut mine = Vec::new();
            for _ in 0..n {
                let k = if u < urls {
                    u += 1;
                    u - 1
                } else {
                    (next() % urls as u64) as usize
                };
                let url = format!("https://host{}.example.com/path/{k}", k % 5000);
                mine.push(ReportUrl {
                    typed: Plain::copy(&url),
                    url: Plain::new(url),
                });
            }
            batch.push(Report {
                entry: format!("{i:032x}"),
                bundle: format!("{b:064x}"),
                kind: Kind::Report,
                receipt: Plain::new(format!("R{i:07}-XXXX-XXXX-XXXX")),
                received: format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                language: Lang::ALL[i % 3],
                category: Some(Category::ALL[i % 4]),
                urls: mine,
                platform: None,
                platform_name: None,
                accounts: Vec::new(),
                demands: None,
                where_seen: None,
                description: Plain::new("وصف قصير لما رآه المبلّغ. A short description of what was seen, in two scripts. ".repeat(2)),
                imported: 0,
            });
        }
        let n = batch.len();
        disk.commit(
            &mut ledger,
            Op::Import {
                bundle: Bundle {
                    digest: format!("{b:064x}"),
                    day: "2026-11-30".into(),
                    reports: n,
                    duplicates: 0,
                    salt: None,
                },
                reports: batch,
            },
        )
        .unwrap();
    }
    disk.compact(&ledger).unwrap();
    let built_s = build.elapsed().as_secs_f64();
    let distinct = ledger.urls.len();
    drop(disk);
    drop(ledger);
    let size = std::fs::metadata(dir.join("ledger.age")).unwrap().len();

    let t = Instant::now();
    let (_disk, ledger) = Disk::open(&dir, &ids).unwrap();
    let open_s = t.elapsed().as_secs_f64();

    let b = Base {
        secret: "00000000000000000000000000000000",
        lang: Lang::Ar,
    };
    let mut page_ms = Vec::new();
    for f in [
        Filter::default(),
        Filter {
            language: Some(Lang::Fr),
            ..Filter::default()
        },
        Filter {
            category: Some(Category::Grooming),
            page: 20,
            ..Filter::default()
        },
    ] {
        for _ in 0..5 {
            let t = Instant::now();
            let (rows, total) = queue::page(&ledger, &f);
            let html = pages::queue(&b, &ledger, &f, &rows, total, None).into_string();
            std::hint::black_box(html);
            page_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    page_ms.sort_by(f64::total_cmp);
    println!(
        "{{\"reports\":{reports},\"distinct_urls\":{distinct},\"ledger_bytes\":{size},\"build_s\":{built_s:.2},\"open_s\":{open_s:.3},\"queue_page_ms_median\":{:.1},\"queue_page_ms_max\":{:.1}}}",
        page_ms[page_ms.len() / 2],
        page_ms[page_ms.len() - 1]
    );
}
