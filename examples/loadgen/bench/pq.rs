//! The `pq` phase: what a post-quantum (hybrid ML-KEM-768 + X25519) analyst
//! key costs against an X25519 one, measured in the same run.
//!
//! - **ingest**: 32 clients against a fresh server with one X25519 key,
//!   then one hybrid key, alternating for `--pq-rounds` rounds (the machine
//!   is shared, so interleaving keeps slow spells from favouring one kind);
//! - **sizes**: one report per padding bucket sealed to 1 and 3 keys of
//!   each kind, measured on the sealed bytes;
//! - **open**: `--pq-open` reports of each kind stored, exported while
//!   serving and opened with `salama open -i KEY` (a plain identity file).

use super::*;

/// Run the phase; the results go under `"pq"`.
pub(super) fn phase(s: &Setup, o: &Opts, warmup: Duration, secs: Duration) -> Res<Value> {
    let rounds = o.num("pq-rounds", 2)?;
    let count = o.num("pq-open", 20_000)?;
    let (mut x, mut pq) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let r = ingest_phase(s, &format!("pqx{round}"), &s.keys1, 32, warmup, secs)?;
        show("ingest, 32 clients, X25519", &r);
        x.push(r);
        let r = ingest_phase(s, &format!("pqh{round}"), &s.keys_pq, 32, warmup, secs)?;
        show("ingest, 32 clients, hybrid", &r);
        pq.push(r);
    }
    let sizes = sizes()?;
    eprintln!("loadgen: sealed sizes: {sizes}");
    let mut open = serde_json::Map::new();
    for (kind, key, keys, identity) in [
        ("x25519", &s.key1, &s.keys1, &s.identity),
        ("hybrid", &s.key_pq, &s.keys_pq, &s.identity_pq),
    ] {
        let r = export_and_open(s, kind, (key, keys), identity, count)?;
        eprintln!(
            "loadgen: open, {kind} key: {} reports in {:.2} s ({:.0} reports/s; {:.0} per CPU-second)",
            r["reports"],
            f(&r["secs"]),
            f(&r["rate"]),
            f(&r["rate_per_cpu_s"])
        );
        open.insert(kind.to_owned(), r);
    }
    Ok(json!({
        "ingest_x25519": x,
        "ingest_hybrid": pq,
        "sizes": sizes,
        "open": open,
    }))
}

/// One report per bucket, as a reporter could type it, sealed to 1 and 3
/// keys of each kind.
fn sizes() -> Res<Value> {
    let x: Vec<String> = (0..3)
        .map(|_| age::x25519::Identity::generate().to_public().to_string())
        .collect();
    let pq: Vec<String> = (0..3)
        .map(|_| salama::keys::generate_hybrid().map(|(_, r)| r))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for (bucket, report) in salama::report::BUCKETS.into_iter().zip(bucket_reports()) {
        let mut row = json!({ "bucket": bucket });
        for (kind, keys) in [("x25519", &x), ("hybrid", &pq)] {
            for n in [1usize, 3] {
                let (sealed, _) =
                    seal_report(&report, &recipients(&keys[..n])?).map_err(|e| e.to_string())?;
                row[format!("{kind}_{n}")] = json!(sealed.as_bytes().len());
            }
        }
        // The X25519 overhead is fixed (102 + 98 per key): it names the bucket.
        if row["x25519_1"] != json!(bucket + 200) {
            return Err(format!("the {bucket}-byte report fell elsewhere: {row}"));
        }
        rows.push(row);
    }
    Ok(json!(rows))
}

/// Reports that fill 1, 4, 16 and 64 KiB.
fn bucket_reports() -> Vec<Report> {
    salama::report::BUCKETS
        .into_iter()
        .map(buckets::report_filling)
        .collect()
}

/// Store `count` reports sealed to `key` (the one in `keys`), export them
/// while serving, then time `salama open` on the bundle.
fn export_and_open(
    s: &Setup,
    kind: &str,
    (key, keys): (&str, &Path),
    identity: &Path,
    count: u64,
) -> Res<Value> {
    let data = s.work.join(format!("pqopen-{kind}"));
    child_json(&[
        "prefill",
        "--data",
        &data.to_string_lossy(),
        "--key",
        key,
        "--count",
        &count.to_string(),
    ])?;
    let server = Server::start(&s.bin, &s.config, &data, keys)?;
    let bundle = s.work.join(format!("pqopen-{kind}.tar"));
    let _ = std::fs::remove_file(&bundle);
    let exported = export_bundle(&s.bin, &data, &bundle);
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
    let (exported, _, bytes) = exported?;
    if exported != count {
        return Err(format!("exported {exported} of {count}"));
    }
    let (opened, secs, cpu) = open_bundle(&s.bin, &bundle, identity, &s.work.join("pqopened"))?;
    let _ = std::fs::remove_file(&bundle);
    if opened != count {
        return Err(format!("opened {opened} of {count}"));
    }
    Ok(json!({
        "reports": opened,
        "secs": secs,
        "rate": opened as f64 / secs,
        "cpu_s": cpu,
        "rate_per_cpu_s": opened as f64 / cpu,
        "bundle_bytes": bytes,
    }))
}

/// The mean of `field` over the rounds.
fn mean(runs: &Value, field: &str) -> f64 {
    let v: Vec<f64> = runs
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| f(&r[field]))
        .collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The phase's Markdown: rows for the main table, then sizes, open and the
/// targets. Returns (ingest ratio, hybrid open rate) for the targets table.
pub(super) fn summary(r: &Value, row: &dyn Fn(String, &Value)) -> (f64, f64) {
    let pq = &r["pq"];
    if pq.is_null() {
        return (f64::NAN, f64::NAN);
    }
    println!(
        "\nPost-quantum keys, in the same run (32 clients, one key each, rounds interleaved):\n"
    );
    println!(
        "| load | acknowledged/s | p50 ms | p99 ms | p99.9 ms | errors | server CPU ms/req | server cores | client cores | other load, cores | server peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (kind, runs) in [
        ("X25519", &pq["ingest_x25519"]),
        ("hybrid", &pq["ingest_hybrid"]),
    ] {
        for (i, x) in runs.as_array().into_iter().flatten().enumerate() {
            row(
                format!("POST report, 32 clients, 1 {kind} key, round {}", i + 1),
                x,
            );
        }
    }
    let (x, h) = (&pq["ingest_x25519"], &pq["ingest_hybrid"]);
    let ratio = mean(h, "rate") / mean(x, "rate");
    let (cx, ch) = (
        mean(x, "server_cpu_ms_per_req"),
        mean(h, "server_cpu_ms_per_req"),
    );
    println!(
        "\nHybrid / X25519 ingest (mean of the rounds): **{ratio:.2}**. Server CPU per report: {cx:.3} ms (X25519), {ch:.3} ms (hybrid), so a CPU-bound server does {:.2} as many with hybrid keys.\n\n| padded bucket | sealed, 1 X25519 key | 3 X25519 keys | 1 hybrid key | 3 hybrid keys |\n|---:|---:|---:|---:|---:|",
        cx / ch
    );
    for s in pq["sizes"].as_array().into_iter().flatten() {
        println!(
            "| {} KiB | {} | {} | {} | {} |",
            s["bucket"].as_u64().unwrap_or(0) / 1024,
            s["x25519_1"],
            s["x25519_3"],
            s["hybrid_1"],
            s["hybrid_3"]
        );
    }
    println!(
        "\n| `salama open`, one key | reports | seconds | reports/s | CPU seconds | reports per CPU-second |\n|---|---:|---:|---:|---:|---:|"
    );
    for kind in ["x25519", "hybrid"] {
        let o = &pq["open"][kind];
        println!(
            "| {kind} | {} | {:.2} | {:.0} | {:.2} | {:.0} |",
            o["reports"],
            f(&o["secs"]),
            f(&o["rate"]),
            f(&o["cpu_s"]),
            f(&o["rate_per_cpu_s"])
        );
    }
    println!();
    (ratio, f(&pq["open"]["hybrid"]["rate"]))
}
