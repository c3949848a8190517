//! Micro-benchmarks of the per-report CPU work, step by step along the data
//! path: form parsing (server build only), validation + padded encoding,
//! sealing (1 and 3 keys, X25519 or hybrid post-quantum, × 1, 4 and 16 KiB
//! padded plaintext), the thank-you page (server build only), and opening
//! one sealed report with each kind of identity.
//!
//! `cargo bench --bench seal` (the numbers in bench/README.md come from
//! `bench/run.sh`, which runs this with a short measurement time).

use age::secrecy::ExposeSecret;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use salama::keys::{Identity, Recipient, Recipients};
use salama::report::{Category, FormInput, Lang, Receipt, ReceivedDate, Report};
use salama::seal::seal_report;
use std::hint::black_box;

fn recipients(n: usize) -> Recipients {
    let list: Vec<Recipient> = (0..n)
        .map(|_| {
            let public = age::x25519::Identity::generate().to_public().to_string();
            Recipient::parse(&public).expect("age makes valid recipients")
        })
        .collect();
    Recipients::new(list).expect("at least one key")
}

/// `n` hybrid keys, and the identity of the last one.
fn hybrid(n: usize) -> (Recipients, Identity) {
    let dir = tempfile::tempdir().expect("scratch dir");
    let mut list = Vec::new();
    let mut last = None;
    for _ in 0..n {
        let (secret, public) = salama::keys::generate_hybrid().expect("keygen");
        list.push(salama::keys::AnalystKey::parse(&public).expect("valid"));
        last = Some(secret);
    }
    let path = dir.path().join("id");
    std::fs::write(&path, last.expect("n > 0").as_bytes()).expect("write");
    let id = salama::keys::load_identities(&path, || unreachable!("plain file"))
        .expect("identity")
        .pop()
        .expect("one");
    (Recipients::new(list).expect("at least one key"), id)
}

#[path = "../bench/buckets.rs"]
mod buckets;
use buckets::report_filling as report_for_bucket;

fn seal(c: &mut Criterion) {
    let mut g = c.benchmark_group("seal");
    for keys in [1usize, 3] {
        for (kind, r) in [("", recipients(keys)), ("-pq", hybrid(keys).0)] {
            for bucket in [1024usize, 4096, 16384] {
                let report = report_for_bucket(bucket);
                g.throughput(Throughput::Bytes(bucket as u64));
                g.bench_with_input(
                    BenchmarkId::new(format!("{keys}key{kind}"), format!("{}KiB", bucket / 1024)),
                    &report,
                    |b, report| b.iter(|| seal_report(black_box(report), &r).expect("seal")),
                );
            }
        }
    }
    g.finish();
}

/// What `salama open` does per report, minus the JSON: unwrap the file key
/// with the analyst's identity and decrypt the 1 KiB payload.
fn open(c: &mut Criterion) {
    use std::io::Read;
    let mut g = c.benchmark_group("open");
    let report = report_for_bucket(1024);
    let dir = tempfile::tempdir().expect("scratch dir");
    let x = age::x25519::Identity::generate();
    let path = dir.path().join("x");
    std::fs::write(&path, x.to_string().expose_secret()).expect("write");
    let x_id = salama::keys::load_identities(&path, || unreachable!("plain file"))
        .expect("identity")
        .pop()
        .expect("one");
    let x_r = Recipients::new(vec![
        Recipient::parse(&x.to_public().to_string()).expect("valid"),
    ])
    .expect("one key");
    let (pq_r, pq_id) = hybrid(1);
    for (name, r, id) in [("x25519", &x_r, &x_id), ("pq", &pq_r, &pq_id)] {
        let (sealed, _) = seal_report(&report, r).expect("seal");
        g.bench_function(format!("1KiB/{name}"), |b| {
            b.iter(|| {
                let d = age::Decryptor::new_buffered(black_box(sealed.as_bytes())).expect("age");
                let mut out = Vec::with_capacity(1024);
                d.decrypt(std::iter::once(id.as_age()))
                    .expect("opens")
                    .read_to_end(&mut out)
                    .expect("payload");
                out
            })
        });
    }
    g.finish();
}

fn validate_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("report");
    let input = FormInput {
        urls: "https://example.com/u/123\nwww.example.org/groups/987?ref=share\nhttp://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/x".into(),
        category: "sextortion".into(),
        where_seen: "social-network".into(),
        description: "وصلتني رسالة من هذا الحساب يطلب صوراً، the profile claims to be 14 years old. "
            .repeat(8),
        platform: "instagram".into(),
        platform_name: String::new(),
        accounts: "@someone_14\nuser.name.2009".into(),
        money: "yes".into(),
        images: "unsure".into(),
    };
    g.bench_function("validate+encode_padded", |b| {
        b.iter(|| {
            let report = Report::validate(black_box(&input), Lang::En, &Category::ALL)
                .unwrap_or_else(|_| panic!("valid"));
            black_box(report.encode_padded(&Receipt::random(), &ReceivedDate::today()));
        })
    });
    g.finish();
}

#[cfg(feature = "server")]
fn web(c: &mut Criterion) {
    use salama::config::Site;
    let mut g = c.benchmark_group("web");
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "urls",
            "https://example.com/u/123\nhttp://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/x",
        )
        .append_pair("category", "grooming")
        .append_pair("where_seen", "website")
        .append_pair(
            "description",
            &"رأيت هذا الحساب يرسل رسائل إلى أطفال and asks them for photos ".repeat(20),
        )
        .finish();
    g.bench_function("form::parse", |b| {
        b.iter(|| salama::web::form::parse(black_box(body.as_bytes())).expect("parses"))
    });
    let site = Site::default();
    let receipt = Receipt::random();
    // The longest thank-you page: the receipt plus the guidance for a harm.
    g.bench_function("pages::thanks", |b| {
        b.iter(|| {
            salama::web::pages::thanks(
                Lang::Ar,
                black_box(&site),
                &receipt,
                Some(Category::Sextortion),
            )
            .into_string()
        })
    });
    g.finish();
}

#[cfg(not(feature = "server"))]
fn web(_: &mut Criterion) {}

criterion_group!(benches, validate_encode, seal, open, web);
criterion_main!(benches);
