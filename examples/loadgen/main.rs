//! The load generator behind `bench/run.sh`: it drives the real
//! `salama serve --no-onion` binary over loopback with realistic reports
//! and measures what the issue's targets are about.
//!
//! Phases (`loadgen run`, every one bounded in time and count):
//! - **sweep**: POST `/{lang}/report` at 1, 8, 32 and 128 keep-alive
//!   clients (one connection each), a fresh server and store per level;
//!   only a 200 page carrying a well-formed receipt counts as acknowledged.
//!   Then 32 clients again with three analyst keys.
//! - **ceilings**: the same server answering `GET /static/style.css` and
//!   `GET /en/` (the HTTP ceiling), and `seal_report` + `Store::put` from
//!   concurrent tasks in-process, with no HTTP (the pipeline ceiling).
//! - **growth**: 32 clients against stores prefilled (in-process, with the
//!   library) with 0, 100k and optionally 1M reports; the 100k store is
//!   exported while serving and the bundle opened with `salama open`.
//! - **pq**: one post-quantum hybrid key against one X25519 key, in the
//!   same run: ingest at 32 clients, sealed size per bucket, `open` speed
//!   (`loadgen/bench/pq.rs`; `--pq-rounds`, `--pq-open`).
//!
//! Server-side figures come from `/proc/PID`: CPU time (utime + stime)
//! over the measured window divided by the reports acknowledged in it, and
//! peak RSS (`VmHWM`, clean because every phase starts its own server).
//!
//! The client is a minimal HTTP/1.1 keep-alive client on one thread
//! (tokio current-thread) so that it takes as little as possible of the
//! CPU it shares with the server; its own CPU use is reported too.
//!
//! Subcommands used by `run` itself (each in a child process, so a store
//! is released by process exit and its CPU is measured on its own):
//! `prefill`, `pipeline`; and `summary` prints the results as Markdown.

#[cfg(feature = "server")]
fn main() -> std::process::ExitCode {
    bench::main()
}

#[cfg(not(feature = "server"))]
fn main() {
    eprintln!(
        "loadgen needs the server: cargo run --release --no-default-features --features server --example loadgen"
    );
    std::process::exit(2);
}

#[cfg(feature = "server")]
mod bench {
    #[path = "../../../bench/buckets.rs"]
    mod buckets;
    mod pq;

    use age::secrecy::ExposeSecret;
    use salama::keys::{AnalystKey, Recipients};
    use salama::report::{Category, FormInput, Lang, Report};
    use salama::seal::{SealedReport, seal_report};
    use salama::store::{Quota, Store};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitCode, Stdio};
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Linux reports utime/stime in USER_HZ ticks, which is 100 on every
    /// architecture's ABI.
    const USER_HZ: f64 = 100.0;

    type Res<T> = Result<T, String>;

    pub fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let (cmd, rest) = match args.first() {
            Some(c) if !c.starts_with('-') => (c.as_str(), &args[1..]),
            _ => ("run", &args[..]),
        };
        let opts = match Opts::parse(rest) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::from(2);
            }
        };
        let result = match cmd {
            "run" => run(&opts),
            "prefill" => prefill(&opts),
            "pipeline" => pipeline(&opts),
            "summary" => summary(&opts),
            other => Err(format!(
                "unknown subcommand {other:?} (run, prefill, pipeline, summary)"
            )),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: error: {e}");
                ExitCode::FAILURE
            }
        }
    }

    // ------------------------------------------------------------------
    // Options
    // ------------------------------------------------------------------

    struct Opts(BTreeMap<String, String>);

    impl Opts {
        fn parse(args: &[String]) -> Res<Opts> {
            let mut m = BTreeMap::new();
            let mut it = args.iter();
            while let Some(a) = it.next() {
                let Some(k) = a.strip_prefix("--") else {
                    return Err(format!("unexpected argument {a:?}"));
                };
                let v = it
                    .next()
                    .ok_or_else(|| format!("--{k} needs a value"))?
                    .clone();
                m.insert(k.to_owned(), v);
            }
            Ok(Opts(m))
        }
        fn str(&self, k: &str, default: &str) -> String {
            self.0.get(k).cloned().unwrap_or_else(|| default.to_owned())
        }
        fn path(&self, k: &str) -> Res<PathBuf> {
            self.0
                .get(k)
                .map(PathBuf::from)
                .ok_or_else(|| format!("--{k} is required"))
        }
        fn num(&self, k: &str, default: u64) -> Res<u64> {
            match self.0.get(k) {
                None => Ok(default),
                Some(v) => v
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--{k} {v:?} is not a number")),
            }
        }
        fn list(&self, k: &str, default: &str) -> Res<Vec<u64>> {
            self.str(k, default)
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.trim()
                        .replace('_', "")
                        .parse()
                        .map_err(|_| format!("--{k}: {s:?} is not a number"))
                })
                .collect()
        }
    }

    // ------------------------------------------------------------------
    // Realistic reports
    // ------------------------------------------------------------------

    /// xorshift64*: deterministic, so every run sends the same reports.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn pick<'a>(&mut self, s: &[&'a str]) -> &'a str {
            s[self.below(s.len() as u64) as usize]
        }
    }

    /// Words for the descriptions, in the two scripts reporters mix.
    const ARABIC: &str = "رأيت هذا الحساب يرسل رسائل إلى أطفال في مجموعة على تطبيق مراسلة ويطلب منهم صوراً الرابط موجود منذ أسبوع وقد شاركه شخص آخر الصفحة تنشر محتوى مسيء لقاصرين أرجو التحقق بسرعة";
    const LATIN: &str = "the account sends messages to children and asks for photos le compte envoie des aux enfants groupe lien partagé hier soir profile claims to be 14 years old since last week Telegram Discord vidéos signalé déjà";
    const WHERE: &[&str] = &[
        "",
        "website",
        "social-network",
        "messaging-app",
        "search-engine",
        "other",
    ];

    /// One report as a reporter would type it.
    struct Typed {
        lang: &'static str,
        urls: String,
        category: &'static str,
        where_seen: &'static str,
        description: String,
    }

    impl Typed {
        fn input(&self) -> FormInput {
            FormInput {
                urls: self.urls.clone(),
                category: self.category.into(),
                where_seen: self.where_seen.into(),
                description: self.description.clone(),
                platform: String::new(),
                platform_name: String::new(),
                accounts: String::new(),
                money: String::new(),
                images: String::new(),
            }
        }

        fn report(&self) -> Report {
            let lang = Lang::from_id(self.lang).expect("known language");
            Report::validate(&self.input(), lang, &Category::ALL)
                .unwrap_or_else(|_| panic!("a generated report is invalid"))
        }

        fn form_body(&self) -> String {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("urls", &self.urls)
                .append_pair("category", self.category)
                .append_pair("where_seen", self.where_seen)
                .append_pair("description", &self.description)
                .finish()
        }
    }

    /// `n` distinct reports: 1–3 URLs, a description of 200 B to 4 KB
    /// (log-uniform, so most are short) of mixed Arabic and Latin
    /// sentences with CRLF line breaks as a textarea sends them.
    /// A v3 onion name with a valid checksum (the form checks it).
    fn onion(rng: &mut Rng) -> String {
        use sha3::{Digest, Sha3_256};
        let mut raw: Vec<u8> = (0..32).map(|_| rng.below(256) as u8).collect();
        let mut h = Sha3_256::new();
        h.update(b".onion checksum");
        h.update(&raw);
        h.update([3u8]);
        raw.extend_from_slice(&h.finalize()[..2]);
        raw.push(3);
        data_encoding::BASE32_NOPAD
            .encode(&raw)
            .to_ascii_lowercase()
    }

    fn typed_reports(n: usize) -> Vec<Typed> {
        let mut rng = Rng(0x5A1A_4D41_2026_0001);
        (0..n)
            .map(|_| {
                let mut urls = Vec::new();
                for _ in 0..=rng.below(3) {
                    let id = rng.below(1_000_000_000);
                    urls.push(match rng.below(4) {
                        0 => format!("https://example{}.com/u/{id}", rng.below(50)),
                        1 => format!("www.social{}.net/p/{id}?ref=share", rng.below(50)),
                        2 => format!("http://{}.onion/g/{id}", onion(&mut rng)),
                        _ => format!("https://t.me/joinchat/{id:x}"),
                    });
                }
                let target = (200.0 * 20f64.powf(rng.unit())) as usize;
                let mut description = String::new();
                while description.len() < target {
                    let words: Vec<&str> = if rng.below(2) == 0 { ARABIC } else { LATIN }
                        .split(' ')
                        .collect();
                    for _ in 0..5 + rng.below(10) {
                        description.push_str(rng.pick(&words));
                        description.push(' ');
                    }
                    description.pop();
                    description.push_str(if rng.below(4) == 0 { ".\r\n" } else { ". " });
                }
                while description.len() > 4000 {
                    description.pop();
                }
                Typed {
                    lang: rng.pick(&["ar", "fr", "en"]),
                    urls: urls.join("\r\n"),
                    category: rng.pick(&["abuse-imagery", "grooming", "sextortion", "other-harm"]),
                    where_seen: rng.pick(WHERE),
                    description,
                }
            })
            .collect()
    }

    /// A whole HTTP/1.1 request, with the headers Tor Browser sends.
    fn post_request(t: &Typed, host: &str) -> Vec<u8> {
        let body = t.form_body();
        format!(
            "POST /{lang}/report HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len}\r\nOrigin: http://{host}\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-User: ?1\r\nPriority: u=0, i\r\n\r\n{body}",
            lang = t.lang,
            len = body.len(),
        )
        .into_bytes()
    }

    fn get_request(path: &str, host: &str) -> Vec<u8> {
        format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: text/css,*/*;q=0.1\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nConnection: keep-alive\r\n\r\n"
        )
        .into_bytes()
    }

    /// `age1…` or `age1pq1…` keys (all of one kind).
    fn recipients(keys: &[String]) -> Res<Recipients> {
        let list = keys
            .iter()
            .map(|k| AnalystKey::parse(k).map_err(|e| e.to_string()))
            .collect::<Res<Vec<_>>>()?;
        Recipients::new(list).map_err(|e| e.to_string())
    }

    fn unlimited_quota() -> Quota {
        Quota {
            max_pending_reports: u64::MAX / 2,
            max_pending_bytes: u64::MAX / 2,
            ..Quota::default()
        }
    }

    // ------------------------------------------------------------------
    // The HTTP client
    // ------------------------------------------------------------------

    #[derive(Default)]
    struct ClientLog {
        /// (completion time, latency in µs) of every acknowledged request.
        done: Vec<(Instant, u32)>,
        errors: BTreeMap<String, u64>,
    }

    const RECEIPT_TAG: &[u8] = br#"<strong id="receipt" dir="ltr">"#;

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// Read one response; returns (status, body range in `buf`).
    async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Res<(u16, usize, usize)> {
        buf.clear();
        let head_end = loop {
            if let Some(i) = find(buf, b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 64 * 1024 {
                return Err("headers too long".into());
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = s.read(&mut chunk).await.map_err(|e| e.kind().to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "non-UTF-8 headers")?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or("no status line")?;
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .ok_or("no content-length")?;
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 16 * 1024];
            let n = s.read(&mut chunk).await.map_err(|e| e.kind().to_string())?;
            if n == 0 {
                return Err("connection closed mid-body".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok((status, head_end, head_end + len))
    }

    /// One keep-alive connection sending `requests` round-robin until
    /// `deadline`. With `receipt`, only a 200 with a well-formed receipt
    /// code counts; otherwise any 200.
    async fn client(
        addr: String,
        requests: Arc<Vec<Vec<u8>>>,
        first: usize,
        deadline: Instant,
        receipt: bool,
    ) -> ClientLog {
        let mut log = ClientLog::default();
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut i = first;
        let mut conn: Option<TcpStream> = None;
        while Instant::now() < deadline {
            let s = match conn.as_mut() {
                Some(s) => s,
                None => match TcpStream::connect(&addr).await {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        conn.insert(s)
                    }
                    Err(e) => {
                        *log.errors
                            .entry(format!("connect: {}", e.kind()))
                            .or_default() += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let req = &requests[i % requests.len()];
            i += 1;
            let start = Instant::now();
            let outcome = match s.write_all(req).await {
                Err(e) => Err(format!("write: {}", e.kind())),
                Ok(()) => read_response(s, &mut buf).await,
            };
            let end = Instant::now();
            match outcome {
                Ok((200, b0, b1)) => {
                    let ok = !receipt
                        || find(&buf[b0..b1], RECEIPT_TAG).is_some_and(|at| {
                            let code = &buf[b0 + at + RECEIPT_TAG.len()..];
                            code.len() >= 19
                                && std::str::from_utf8(&code[..19])
                                    .is_ok_and(salama::receipt::is_well_formed)
                        });
                    if ok {
                        let us = (end - start).as_micros().min(u32::MAX as u128) as u32;
                        log.done.push((end, us));
                    } else {
                        *log.errors.entry("200 without receipt".into()).or_default() += 1;
                    }
                }
                Ok((status, _, _)) => {
                    *log.errors.entry(format!("HTTP {status}")).or_default() += 1;
                }
                Err(e) => {
                    *log.errors.entry(e).or_default() += 1;
                    conn = None;
                }
            }
        }
        log
    }

    // ------------------------------------------------------------------
    // The server under test
    // ------------------------------------------------------------------

    #[derive(Clone, Copy, Default)]
    struct ProcSample {
        cpu_s: f64,
        hwm_kib: u64,
        rss_kib: u64,
        write_bytes: u64,
    }

    fn proc_sample(pid: u32) -> ProcSample {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after "(comm)": state is 0, utime 11, stime 12.
        let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
        let write_bytes = io
            .lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        ProcSample {
            cpu_s: (tick(11) + tick(12)) as f64 / USER_HZ,
            hwm_kib: kib("VmHWM:"),
            rss_kib: kib("VmRSS:"),
            write_bytes,
        }
    }

    fn self_cpu() -> f64 {
        proc_sample(std::process::id()).cpu_s
    }

    /// CPU seconds of this process's children that have been waited for
    /// (`cutime` + `cstime`): what a `Command::output()` child used.
    fn children_cpu() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        (f.get(13).unwrap_or(&0) + f.get(14).unwrap_or(&0)) as f64 / USER_HZ
    }

    /// CPU seconds the whole machine has spent busy (every process, the
    /// kernel, and time stolen by the hypervisor): the rest of the load
    /// on a shared machine shows up as busy minus server minus client.
    fn machine_busy() -> f64 {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let v: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal
        let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum();
        busy as f64 / USER_HZ
    }

    struct Server {
        child: Child,
        addr: String,
        startup_s: f64,
        log: mpsc::Receiver<String>,
    }

    impl Server {
        fn start(bin: &Path, config: &Path, data: &Path, keys: &Path) -> Res<Server> {
            let t = Instant::now();
            let mut child = Command::new(bin)
                .arg("serve")
                .arg("--config")
                .arg(config)
                .arg("--data")
                .arg(data)
                .arg("--keys")
                .arg(keys)
                .args(["--listen", "127.0.0.1:0", "--no-onion"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            let (tx, log) = mpsc::channel();
            let stderr = child.stderr.take().ok_or("no stderr")?;
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let mut server = Server {
                child,
                addr: String::new(),
                startup_s: 0.0,
                log,
            };
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match server.log.recv_timeout(left) {
                    Ok(line) => {
                        if let Some(rest) = line.strip_prefix("salama: serving http://") {
                            server.addr = rest.trim_end_matches('/').to_owned();
                        }
                        if line == "salama: ready" {
                            break;
                        }
                    }
                    Err(_) => return Err("the server did not become ready".into()),
                }
            }
            server.startup_s = t.elapsed().as_secs_f64();
            Ok(server)
        }

        fn pid(&self) -> u32 {
            self.child.id()
        }

        /// SIGTERM, then wait (bounded) for a clean exit; anything the
        /// server said after "ready" is returned (it should be only the
        /// stop messages).
        fn stop(mut self) -> Vec<String> {
            let pid = rustix::process::Pid::from_child(&self.child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.log
                .try_iter()
                .filter(|l| !l.starts_with("salama: stop"))
                .collect()
        }
    }

    struct Setup {
        bin: PathBuf,
        work: PathBuf,
        config: PathBuf,
        keys1: PathBuf,
        keys3: PathBuf,
        key1: String,
        identity: PathBuf,
        /// One hybrid (post-quantum) key: directory, `age1pq1…`, identity file.
        keys_pq: PathBuf,
        key_pq: String,
        identity_pq: PathBuf,
        posts: Vec<Typed>,
    }

    fn write_keys(dir: &Path, n: usize) -> Res<(Vec<String>, Vec<String>)> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut public = Vec::new();
        let mut secret = Vec::new();
        for i in 0..n {
            let id = age::x25519::Identity::generate();
            let p = id.to_public().to_string();
            std::fs::write(dir.join(format!("analyst{i}.pub")), format!("{p}\n"))
                .map_err(|e| e.to_string())?;
            public.push(p);
            secret.push(id.to_string().expose_secret().to_owned());
        }
        Ok((public, secret))
    }

    fn setup(o: &Opts) -> Res<Setup> {
        let here = std::env::current_exe().map_err(|e| e.to_string())?;
        // target/release/examples/loadgen → target/release/salama
        let default_bin = here
            .parent()
            .and_then(Path::parent)
            .map(|p| p.join("salama"))
            .unwrap_or_default();
        let bin = o.0.get("bin").map(PathBuf::from).unwrap_or(default_bin);
        if !bin.exists() {
            return Err(format!(
                "no server binary at {} (build it, or give --bin)",
                bin.display()
            ));
        }
        let work = o
            .path("work")
            .unwrap_or_else(|_| PathBuf::from("target/bench-work"));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let (keys1, keys3) = (work.join("keys1"), work.join("keys3"));
        let (public1, secret1) = write_keys(&keys1, 1)?;
        write_keys(&keys3, 3)?;
        let identity = work.join("analyst.key");
        std::fs::write(&identity, format!("{}\n", secret1[0])).map_err(|e| e.to_string())?;
        let keys_pq = work.join("keys-pq");
        let (secret_pq, key_pq) = salama::keys::generate_hybrid().map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&keys_pq).map_err(|e| e.to_string())?;
        std::fs::write(keys_pq.join("analyst.pub"), format!("{key_pq}\n"))
            .map_err(|e| e.to_string())?;
        let identity_pq = work.join("analyst-pq.key");
        std::fs::write(&identity_pq, format!("{}\n", *secret_pq)).map_err(|e| e.to_string())?;
        // The shipped defaults, except the export quotas (the growth phase
        // stores more than a million reports on purpose) and the
        // per-circuit allowance: each keep-alive client here is one plain
        // loopback connection, i.e. one "circuit", sending thousands of
        // reports a second (bench/flood.sh measures the limits themselves).
        let config = work.join("salama.toml");
        std::fs::write(
            &config,
            "[limits]\nmax_pending_reports = 100000000\nmax_pending_bytes = 1099511627776\nsubmissions_per_circuit = 4000000000\nsubmission_interval_secs = 1\nlookups_per_circuit = 4000000000\nlookup_interval_secs = 1\n",
        )
        .map_err(|e| e.to_string())?;
        Ok(Setup {
            bin,
            work,
            config,
            keys1,
            keys3,
            key1: public1[0].clone(),
            identity,
            keys_pq,
            key_pq,
            identity_pq,
            posts: typed_reports(1024),
        })
    }

    fn percentile(sorted: &[u32], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i] as f64 / 1000.0
    }

    fn latency_json(mut lat: Vec<u32>) -> Value {
        lat.sort_unstable();
        json!({
            "p50_ms": percentile(&lat, 0.50),
            "p99_ms": percentile(&lat, 0.99),
            "p999_ms": percentile(&lat, 0.999),
            "max_ms": lat.last().map(|&v| v as f64 / 1000.0).unwrap_or(0.0),
        })
    }

    /// Drive `clients` connections for warmup + secs; measure the window.
    fn drive(
        server: &Server,
        requests: Arc<Vec<Vec<u8>>>,
        clients: usize,
        warmup: Duration,
        secs: Duration,
        receipt: bool,
    ) -> Res<Value> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let pid = server.pid();
        let addr = server.addr.clone();
        let (logs, t0, t1, s0, s1, c0, c1, machine) = rt.block_on(async move {
            let begin = Instant::now();
            let deadline = begin + warmup + secs;
            let stride = requests.len() / clients.max(1);
            let handles: Vec<_> = (0..clients)
                .map(|c| {
                    tokio::spawn(client(
                        addr.clone(),
                        requests.clone(),
                        c * stride.max(1),
                        deadline,
                        receipt,
                    ))
                })
                .collect();
            tokio::time::sleep(warmup).await;
            let (t0, s0, c0, m0) = (Instant::now(), proc_sample(pid), self_cpu(), machine_busy());
            tokio::time::sleep_until((begin + warmup + secs).into()).await;
            let (t1, s1, c1, m1) = (Instant::now(), proc_sample(pid), self_cpu(), machine_busy());
            let mut logs = Vec::new();
            for h in handles {
                logs.push(h.await.unwrap_or_default());
            }
            (logs, t0, t1, s0, s1, c0, c1, m1 - m0)
        });
        let window = (t1 - t0).as_secs_f64();
        let mut lat = Vec::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        let mut total_acked = 0u64;
        for log in logs {
            total_acked += log.done.len() as u64;
            lat.extend(
                log.done
                    .iter()
                    .filter(|(t, _)| *t >= t0 && *t <= t1)
                    .map(|&(_, us)| us),
            );
            for (k, v) in log.errors {
                *errors.entry(k).or_default() += v;
            }
        }
        let acked = lat.len() as u64;
        let n = acked.max(1) as f64;
        Ok(json!({
            "clients": clients,
            "window_s": window,
            "acked": acked,
            "acked_total": total_acked,
            "rate": acked as f64 / window,
            "latency": latency_json(lat),
            "errors": errors.values().sum::<u64>(),
            "error_kinds": errors,
            "server_cpu_ms_per_req": (s1.cpu_s - s0.cpu_s) * 1000.0 / n,
            "server_cpu_cores": (s1.cpu_s - s0.cpu_s) / window,
            "server_written_bytes_per_req": (s1.write_bytes.saturating_sub(s0.write_bytes)) as f64 / n,
            "client_cpu_cores": (c1 - c0) / window,
            "other_cpu_cores": (machine - (s1.cpu_s - s0.cpu_s) - (c1 - c0)).max(0.0) / window,
            "server_peak_rss_mib": s1.hwm_kib as f64 / 1024.0,
            "server_rss_mib": s1.rss_kib as f64 / 1024.0,
            "server_startup_s": server.startup_s,
        }))
    }

    fn post_pool(s: &Setup, addr: &str) -> Arc<Vec<Vec<u8>>> {
        Arc::new(s.posts.iter().map(|t| post_request(t, addr)).collect())
    }

    /// A fresh store and server, one measured run, then stop.
    fn ingest_phase(
        s: &Setup,
        name: &str,
        keys: &Path,
        clients: usize,
        warmup: Duration,
        secs: Duration,
    ) -> Res<Value> {
        let data = s.work.join(name);
        let server = Server::start(&s.bin, &s.config, &data, keys)?;
        let r = drive(
            &server,
            post_pool(s, &server.addr),
            clients,
            warmup,
            secs,
            true,
        );
        let said = server.stop();
        let _ = std::fs::remove_dir_all(&data);
        let mut r = r?;
        r["server_said"] = json!(said);
        Ok(r)
    }

    /// Follow-up lookups, each a different never-issued receipt (so each
    /// costs the server one Argon2id run, as a guessing attacker's would).
    fn lookup_pool(host: &str) -> Arc<Vec<Vec<u8>>> {
        let mut rng = Rng(0x5eed_1007_c0de);
        const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        Arc::new(
            (0..1024)
                .map(|_| {
                    let code: String = (0..16)
                        .map(|i| {
                            let c = CROCKFORD[rng.below(32) as usize] as char;
                            if i > 0 && i % 4 == 0 { format!("-{c}") } else { c.to_string() }
                        })
                        .collect();
                    let body = format!("receipt={code}");
                    format!(
                        "POST /en/follow-up HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                })
                .collect(),
        )
    }

    /// Ingest at 32 clients, alone and then with 32 more clients flooding
    /// the follow-up page with guessed receipts (per-circuit limits off,
    /// as from an attacker with many circuits): the lookups' own threads
    /// and queue must keep reports flowing. One server for both runs.
    fn lookups_phase(s: &Setup, warmup: Duration, secs: Duration) -> Res<Value> {
        let data = s.work.join("lookups");
        let server = Server::start(&s.bin, &s.config, &data, &s.keys1)?;
        let posts = post_pool(s, &server.addr);
        let alone = drive(&server, posts.clone(), 32, warmup, secs, true);
        let flood_reqs = lookup_pool(&server.addr);
        let addr = server.addr.clone();
        let flood_for = warmup + secs + Duration::from_secs(1);
        let flood = std::thread::spawn(move || -> Res<(u64, BTreeMap<String, u64>)> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            Ok(rt.block_on(async move {
                let deadline = Instant::now() + flood_for;
                let handles: Vec<_> = (0..32)
                    .map(|c| {
                        tokio::spawn(client(
                            addr.clone(),
                            flood_reqs.clone(),
                            c * 32,
                            deadline,
                            false,
                        ))
                    })
                    .collect();
                let (mut answered, mut errors) = (0u64, BTreeMap::new());
                for h in handles {
                    let log = h.await.unwrap_or_default();
                    answered += log.done.len() as u64;
                    for (k, v) in log.errors {
                        *errors.entry(k).or_default() += v;
                    }
                }
                (answered, errors)
            }))
        });
        // Let the flood fill the lookup threads and queue first.
        std::thread::sleep(Duration::from_millis(500));
        let flooded = drive(&server, posts, 32, warmup, secs, true);
        let (answered, refused) = flood
            .join()
            .map_err(|_| "the flood thread panicked".to_owned())??;
        let said = server.stop();
        let _ = std::fs::remove_dir_all(&data);
        let (alone, mut flooded) = (alone?, flooded?);
        flooded["lookups_answered_per_s"] = json!(answered as f64 / flood_for.as_secs_f64());
        flooded["lookups_refused"] = json!(refused);
        show("ingest, 32 clients", &alone);
        show("ingest, 32 + 32 lookups", &flooded);
        eprintln!(
            "loadgen: lookups answered {:.0}/s meanwhile; refused: {}",
            f(&flooded["lookups_answered_per_s"]),
            json!(flooded["lookups_refused"])
        );
        Ok(json!({ "alone": alone, "flooded": flooded, "server_said": said }))
    }

    fn show(label: &str, r: &Value) {
        eprintln!(
            "loadgen: {label:<28} {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  p99.9 {:>6.2} ms  errors {:>3}  server CPU {:.3} ms/req ({:.2} cores)  client {:.2} cores  others {:.2} cores  peak RSS {:.1} MiB",
            r["rate"].as_f64().unwrap_or(0.0),
            r["latency"]["p50_ms"].as_f64().unwrap_or(0.0),
            r["latency"]["p99_ms"].as_f64().unwrap_or(0.0),
            r["latency"]["p999_ms"].as_f64().unwrap_or(0.0),
            r["errors"].as_u64().unwrap_or(0),
            r["server_cpu_ms_per_req"].as_f64().unwrap_or(0.0),
            r["server_cpu_cores"].as_f64().unwrap_or(0.0),
            r["client_cpu_cores"].as_f64().unwrap_or(0.0),
            r["other_cpu_cores"].as_f64().unwrap_or(0.0),
            r["server_peak_rss_mib"].as_f64().unwrap_or(0.0),
        );
        if let Some(kinds) = r["error_kinds"].as_object().filter(|k| !k.is_empty()) {
            eprintln!("loadgen:   error kinds: {}", Value::Object(kinds.clone()));
        }
    }

    /// Run this example again as a child process and read its one JSON line.
    fn child_json(args: &[&str]) -> Res<Value> {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let out = Command::new(me)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("loadgen {} failed", args.join(" ")));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("loadgen {}: {e}", args[0]))
    }

    fn run(o: &Opts) -> Res<()> {
        let secs = Duration::from_secs(o.num("secs", 15)?);
        let warmup = Duration::from_secs(o.num("warmup", 2)?);
        let levels = o.list("levels", "1,8,32,128")?;
        let growth = o.list("growth", "0,100000")?;
        let phases = o.str("phases", "sweep,ceilings,growth,pq");
        let results_path = o
            .path("results")
            .unwrap_or_else(|_| PathBuf::from("target/bench/results.json"));
        let s = setup(o)?;
        let t_all = Instant::now();
        let mut results = json!({
            "secs": secs.as_secs(),
            "warmup": warmup.as_secs(),
            "report_mix": report_mix(&s)?,
        });
        eprintln!(
            "loadgen: {} distinct reports; sealed sizes: {}",
            s.posts.len(),
            results["report_mix"]
        );

        if phases.contains("sweep") {
            let mut sweep = Vec::new();
            for &c in &levels {
                let r = ingest_phase(&s, &format!("sweep{c}"), &s.keys1, c as usize, warmup, secs)?;
                show(&format!("ingest, {c} clients"), &r);
                sweep.push(r);
            }
            results["sweep"] = json!(sweep);
            let r = ingest_phase(&s, "sweep32k3", &s.keys3, 32, warmup, secs)?;
            show("ingest, 32 clients, 3 keys", &r);
            results["sweep_3keys"] = r;
        }

        if phases.contains("ceilings") {
            let data = s.work.join("ceiling");
            let server = Server::start(&s.bin, &s.config, &data, &s.keys1)?;
            let mut http = serde_json::Map::new();
            for path in ["/static/style.css", "/en/"] {
                let reqs = Arc::new(vec![get_request(path, &server.addr)]);
                let r = drive(&server, reqs, 32, warmup, secs, false)?;
                show(&format!("GET {path}, 32 clients"), &r);
                http.insert(path.to_owned(), r);
            }
            server.stop();
            let _ = std::fs::remove_dir_all(&data);
            results["http_ceiling"] = Value::Object(http);

            let mut pipe = Vec::new();
            for (tasks, store) in [(32u64, "store"), (128, "store"), (32, "append")] {
                let data = s.work.join(format!("pipeline{tasks}{store}"));
                let r = child_json(&[
                    "pipeline",
                    "--data",
                    &data.to_string_lossy(),
                    "--key",
                    &s.key1,
                    "--tasks",
                    &tasks.to_string(),
                    "--secs",
                    &secs.as_secs().to_string(),
                    "--warmup",
                    &warmup.as_secs().to_string(),
                    "--store",
                    store,
                ])?;
                let _ = std::fs::remove_dir_all(&data);
                show(&format!("pipeline, {tasks} tasks, {store}"), &r);
                pipe.push(r);
            }
            results["pipeline_ceiling"] = json!(pipe);
        }

        if phases.contains("growth") {
            let mut g = Vec::new();
            for &stored in &growth {
                g.push(growth_phase(&s, stored, warmup, secs)?);
            }
            results["growth"] = json!(g);
        }

        if phases.contains("pq") {
            results["pq"] = pq::phase(&s, o, warmup, secs)?;
        }

        if phases.contains("lookups") {
            results["lookups"] = lookups_phase(&s, warmup, secs)?;
        }

        results["total_s"] = json!(t_all.elapsed().as_secs_f64());
        if let Some(dir) = results_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(
            &results_path,
            serde_json::to_vec_pretty(&results).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&s.work);
        eprintln!(
            "loadgen: done in {:.0} s; results in {}",
            t_all.elapsed().as_secs_f64(),
            results_path.display()
        );
        Ok(())
    }

    /// How the generated reports fall into the padding buckets.
    fn report_mix(s: &Setup) -> Res<Value> {
        let r = recipients(std::slice::from_ref(&s.key1))?;
        let mut buckets: BTreeMap<String, u64> = BTreeMap::new();
        let mut total = 0usize;
        let mut body = 0usize;
        for t in &s.posts {
            let (sealed, _) = seal_report(&t.report(), &r).map_err(|e| e.to_string())?;
            total += sealed.as_bytes().len();
            body += t.form_body().len();
            // age adds ~200 bytes per file: the bucket is the largest below.
            let b = salama::report::BUCKETS
                .into_iter()
                .rev()
                .find(|&b| b <= sealed.as_bytes().len())
                .unwrap_or(0);
            *buckets.entry(format!("{}KiB", b / 1024)).or_default() += 1;
        }
        Ok(json!({
            "buckets": buckets,
            "mean_sealed_bytes": total / s.posts.len(),
            "mean_form_body_bytes": body / s.posts.len(),
        }))
    }

    fn growth_phase(s: &Setup, stored: u64, warmup: Duration, secs: Duration) -> Res<Value> {
        let data = s.work.join(format!("growth{stored}"));
        let mut out = json!({ "stored": stored });
        if stored > 0 {
            let r = child_json(&[
                "prefill",
                "--data",
                &data.to_string_lossy(),
                "--key",
                &s.key1,
                "--count",
                &stored.to_string(),
            ])?;
            eprintln!(
                "loadgen: prefilled {} reports in {:.1} s ({:.0}/s, {:.2} GB on disk)",
                stored,
                r["secs"].as_f64().unwrap_or(0.0),
                r["rate"].as_f64().unwrap_or(0.0),
                r["disk_bytes"].as_f64().unwrap_or(0.0) / 1e9
            );
            out["prefill"] = r;
        }
        let server = Server::start(&s.bin, &s.config, &data, &s.keys1)?;
        let rss_idle = proc_sample(server.pid());
        out["server_startup_s"] = json!(server.startup_s);
        out["server_idle_rss_mib"] = json!(rss_idle.rss_kib as f64 / 1024.0);
        // The 100k store is exported while serving (through the admin
        // socket), then the bundle opened offline.
        let bundle = s.work.join(format!("bundle{stored}.tar"));
        // `salama export` never replaces a file; this is scratch.
        let _ = std::fs::remove_file(&bundle);
        let export = stored == 100_000;
        if export {
            let (count, dt, size) = export_bundle(&s.bin, &data, &bundle)?;
            if count != stored {
                return Err(format!("export was short: {count} of {stored}"));
            }
            eprintln!(
                "loadgen: export while serving: {count} blobs in {dt:.2} s ({:.0} blobs/s, {:.0} MB/s)",
                count as f64 / dt,
                size as f64 / dt / 1e6
            );
            let after = proc_sample(server.pid());
            out["export"] = json!({
                "blobs": count,
                "secs": dt,
                "rate": count as f64 / dt,
                "bundle_bytes": size,
                "server_rss_after_mib": after.rss_kib as f64 / 1024.0,
                "server_hwm_after_mib": after.hwm_kib as f64 / 1024.0,
            });
        }
        let r = drive(&server, post_pool(s, &server.addr), 32, warmup, secs, true);
        server.stop();
        let r = r?;
        show(&format!("ingest, 32 clients, {stored} stored"), &r);
        out["ingest"] = r;
        let _ = std::fs::remove_dir_all(&data);
        if export {
            let (count, dt, _) = open_bundle(&s.bin, &bundle, &s.identity, &s.work.join("opened"))?;
            if count != stored {
                return Err(format!("open was short: {count} of {stored}"));
            }
            eprintln!(
                "loadgen: open: {count} reports in {dt:.2} s ({:.0} reports/s)",
                count as f64 / dt
            );
            out["open"] = json!({"reports": count, "secs": dt, "rate": count as f64 / dt});
            let _ = std::fs::remove_file(&bundle);
        }
        Ok(out)
    }

    /// `salama export` (through the running server's admin socket):
    /// (blobs, seconds, bundle bytes).
    fn export_bundle(bin: &Path, data: &Path, bundle: &Path) -> Res<(u64, f64, u64)> {
        let t = Instant::now();
        let o = Command::new(bin)
            .arg("export")
            .arg("--data")
            .arg(data)
            .arg("--out")
            .arg(bundle)
            .output()
            .map_err(|e| e.to_string())?;
        let dt = t.elapsed().as_secs_f64();
        let said = String::from_utf8_lossy(&o.stderr);
        if !o.status.success() {
            return Err(format!("export failed: {said}"));
        }
        let count = number_after(&said, "exported ").unwrap_or(0);
        let size = std::fs::metadata(bundle).map(|m| m.len()).unwrap_or(0);
        Ok((count, dt, size))
    }

    /// `salama open BUNDLE -i IDENTITY --out OUT`, timed; OUT is removed
    /// afterwards. (reports opened, seconds, CPU seconds it used: on a
    /// shared machine, reports per CPU-second is what one idle core gives).
    fn open_bundle(bin: &Path, bundle: &Path, identity: &Path, out: &Path) -> Res<(u64, f64, f64)> {
        let (t, cpu) = (Instant::now(), children_cpu());
        let o = Command::new(bin)
            .arg("open")
            .arg(bundle)
            .arg("-i")
            .arg(identity)
            .arg("--out")
            .arg(out)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        let (dt, cpu) = (t.elapsed().as_secs_f64(), children_cpu() - cpu);
        let _ = std::fs::remove_dir_all(out);
        let said = String::from_utf8_lossy(&o.stderr);
        if !o.status.success() {
            return Err(format!("open failed: {said}"));
        }
        Ok((number_after(&said, "opened ").unwrap_or(0), dt, cpu))
    }

    fn number_after(text: &str, prefix: &str) -> Option<u64> {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix("salama: ")?.strip_prefix(prefix)?;
            rest.split_whitespace().next()?.parse().ok()
        })
    }

    // ------------------------------------------------------------------
    // In-process subcommands
    // ------------------------------------------------------------------

    fn multi_thread() -> Res<tokio::runtime::Runtime> {
        // The server's runtime: one worker per core.
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    }

    fn dir_bytes(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }

    /// `prefill --data DIR --key AGE1… --count N`: store N realistic sealed
    /// reports as fast as the library allows (256 distinct seals, each
    /// stored many times under its own random id: the store cannot tell).
    fn prefill(o: &Opts) -> Res<()> {
        let data = o.path("data")?;
        let count = o.num("count", 100_000)?;
        let tasks = o.num("tasks", 256)?;
        let r = recipients(&[o.str("key", "")])?;
        let pool: Arc<Vec<SealedReport>> = Arc::new(
            typed_reports(256)
                .iter()
                .map(|t| seal_report(&t.report(), &r).map(|(s, _)| s))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?,
        );
        let store = Store::open(&data, unlimited_quota()).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let rt = multi_thread()?;
        rt.block_on(async {
            let mut handles = Vec::new();
            for k in 0..tasks {
                let (store, pool) = (store.clone(), pool.clone());
                let n = count / tasks + u64::from(k < count % tasks);
                handles.push(tokio::spawn(async move {
                    for i in 0..n {
                        let blob = &pool[((k + i * tasks) % pool.len() as u64) as usize];
                        store
                            .put(SealedReport::from_stored(blob.as_bytes().to_vec()))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(())
                }));
            }
            for h in handles {
                h.await.map_err(|e| e.to_string())??;
            }
            Ok::<_, String>(())
        })?;
        store.close().map_err(|e| e.to_string())?;
        let secs = t.elapsed().as_secs_f64();
        let stored = store.count_all();
        println!(
            "{}",
            json!({
                "count": stored,
                "secs": secs,
                "rate": stored as f64 / secs,
                "disk_bytes": dir_bytes(&data),
                "peak_rss_mib": proc_sample(std::process::id()).hwm_kib as f64 / 1024.0,
            })
        );
        Ok(())
    }

    /// `pipeline --data DIR --key AGE1… --tasks N --secs S --warmup W`:
    /// seal + durable put from N tasks, no HTTP: the pipeline ceiling.
    fn pipeline(o: &Opts) -> Res<()> {
        let data = o.path("data")?;
        let tasks = o.num("tasks", 32)?;
        let secs = Duration::from_secs(o.num("secs", 15)?);
        let warmup = Duration::from_secs(o.num("warmup", 2)?);
        let r = Arc::new(recipients(&[o.str("key", "")])?);
        let reports: Arc<Vec<Report>> =
            Arc::new(typed_reports(1024).iter().map(Typed::report).collect());
        let sink = Arc::new(match o.str("store", "store").as_str() {
            "store" => {
                Sink::Store(Store::open(&data, unlimited_quota()).map_err(|e| e.to_string())?)
            }
            "append" => Sink::Append(appender(&data)?),
            other => return Err(format!("--store {other:?}: store or append")),
        });
        let rt = multi_thread()?;
        let (logs, t0, t1, c0, c1, machine) = rt.block_on(async {
            let begin = Instant::now();
            let deadline = begin + warmup + secs;
            let handles: Vec<_> = (0..tasks as usize)
                .map(|k| {
                    let (sink, r, reports) = (sink.clone(), r.clone(), reports.clone());
                    tokio::spawn(async move {
                        let mut done = Vec::new();
                        let mut i = k * 7;
                        while Instant::now() < deadline {
                            let start = Instant::now();
                            let (sealed, _receipt) =
                                seal_report(&reports[i % reports.len()], &r).expect("seal");
                            i += 1;
                            sink.put(sealed).await;
                            let end = Instant::now();
                            done.push((end, (end - start).as_micros() as u32));
                        }
                        done
                    })
                })
                .collect();
            tokio::time::sleep(warmup).await;
            let (t0, c0, m0) = (Instant::now(), self_cpu(), machine_busy());
            tokio::time::sleep_until(deadline.into()).await;
            let (t1, c1, m1) = (Instant::now(), self_cpu(), machine_busy());
            let mut logs = Vec::new();
            for h in handles {
                logs.push(h.await.unwrap_or_default());
            }
            (logs, t0, t1, c0, c1, m1 - m0)
        });
        let lat: Vec<u32> = logs
            .iter()
            .flatten()
            .filter(|(t, _)| *t >= t0 && *t <= t1)
            .map(|&(_, us)| us)
            .collect();
        let window = (t1 - t0).as_secs_f64();
        let n = lat.len().max(1) as f64;
        println!(
            "{}",
            json!({
                "tasks": tasks,
                "store": o.str("store", "store"),
                "window_s": window,
                "acked": lat.len(),
                "rate": lat.len() as f64 / window,
                "server_cpu_ms_per_req": (c1 - c0) * 1000.0 / n,
                "server_cpu_cores": (c1 - c0) / window,
                "client_cpu_cores": 0.0,
                "other_cpu_cores": (machine - (c1 - c0)).max(0.0) / window,
                "errors": 0,
                "latency": latency_json(lat),
                "server_peak_rss_mib": proc_sample(std::process::id()).hwm_kib as f64 / 1024.0,
            })
        );
        Ok(())
    }

    /// Where `pipeline` puts sealed reports: the real store, or (`append`)
    /// the simplest durable log there is, as a yardstick for the disk: one
    /// committer thread appends everything waiting as length-prefixed
    /// records with one `write` and one `fdatasync`, then acknowledges.
    enum Sink {
        Store(Arc<Store>),
        Append(std::sync::Mutex<mpsc::Sender<(Vec<u8>, tokio::sync::oneshot::Sender<()>)>>),
    }

    impl Sink {
        async fn put(&self, sealed: SealedReport) {
            match self {
                Sink::Store(store) => store.put(sealed).await.expect("durable put"),
                Sink::Append(tx) => {
                    let (ack, done) = tokio::sync::oneshot::channel();
                    let sent = tx
                        .lock()
                        .expect("appender lock")
                        .send((sealed.into_bytes(), ack));
                    sent.expect("the appender is running");
                    done.await.expect("durable append");
                }
            }
        }
    }

    type AppendQueue = mpsc::Sender<(Vec<u8>, tokio::sync::oneshot::Sender<()>)>;

    fn appender(data: &Path) -> Res<std::sync::Mutex<AppendQueue>> {
        use std::io::Write;
        std::fs::create_dir_all(data).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("append.log"))
            .map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel::<(Vec<u8>, tokio::sync::oneshot::Sender<()>)>();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            while let Ok(first) = rx.recv() {
                let mut waiting = vec![first];
                waiting.extend(rx.try_iter());
                buf.clear();
                for (blob, _) in &waiting {
                    let mut id = [0u8; 16];
                    getrandom::fill(&mut id).expect("random id");
                    buf.extend_from_slice(&(blob.len() as u32).to_be_bytes());
                    buf.extend_from_slice(&id);
                    buf.extend_from_slice(blob);
                }
                file.write_all(&buf).expect("append");
                file.sync_data().expect("fdatasync");
                for (_, ack) in waiting {
                    let _ = ack.send(());
                }
            }
        });
        Ok(std::sync::Mutex::new(tx))
    }

    // ------------------------------------------------------------------
    // Summary
    // ------------------------------------------------------------------

    fn f(v: &Value) -> f64 {
        v.as_f64().unwrap_or(f64::NAN)
    }

    fn criterion_rows(dir: &Path, rows: &mut Vec<(String, f64)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") {
                    let read = |name: &str| -> Option<Value> {
                        serde_json::from_slice(&std::fs::read(p.join(name)).ok()?).ok()
                    };
                    if let (Some(b), Some(est)) = (read("benchmark.json"), read("estimates.json")) {
                        rows.push((
                            b["full_id"].as_str().unwrap_or("?").to_owned(),
                            f(&est["median"]["point_estimate"]),
                        ));
                    }
                } else {
                    criterion_rows(&p, rows);
                }
            }
        }
    }

    /// `summary --results FILE [--criterion DIR]`: Markdown tables.
    fn summary(o: &Opts) -> Res<()> {
        let path = o
            .path("results")
            .unwrap_or_else(|_| PathBuf::from("target/bench/results.json"));
        let r: Value = serde_json::from_slice(
            &std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
        )
        .map_err(|e| e.to_string())?;
        let row = |label: String, x: &Value| {
            println!(
                "| {label} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.3} | {:.2} | {:.2} | {:.2} | {:.1} |",
                f(&x["rate"]),
                f(&x["latency"]["p50_ms"]),
                f(&x["latency"]["p99_ms"]),
                f(&x["latency"]["p999_ms"]),
                x["errors"].as_u64().unwrap_or(0),
                f(&x["server_cpu_ms_per_req"]),
                f(&x["server_cpu_cores"]),
                f(&x["client_cpu_cores"]),
                f(&x["other_cpu_cores"]),
                f(&x["server_peak_rss_mib"]),
            );
        };
        println!(
            "Each level ran {} s after {} s of warm-up. Reports: {}.\n",
            r["secs"], r["warmup"], r["report_mix"]
        );
        println!(
            "| load | acknowledged/s | p50 ms | p99 ms | p99.9 ms | errors | server CPU ms/req | server cores | client cores | other load, cores | server peak RSS MiB |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut at32 = Value::Null;
        for x in r["sweep"].as_array().into_iter().flatten() {
            if x["clients"] == 32 {
                at32 = x.clone();
            }
            row(format!("POST report, {} clients", x["clients"]), x);
        }
        if !r["sweep_3keys"].is_null() {
            row("POST report, 32 clients, 3 keys".into(), &r["sweep_3keys"]);
        }
        if !r["lookups"].is_null() {
            row(
                "POST report, 32 clients (lookups phase, alone)".into(),
                &r["lookups"]["alone"],
            );
            let flooded = &r["lookups"]["flooded"];
            row(
                format!(
                    "POST report, 32 clients + 32 flooding lookups ({:.0} lookups/s answered, refused {})",
                    f(&flooded["lookups_answered_per_s"]),
                    flooded["lookups_refused"]
                ),
                flooded,
            );
        }
        let mut http32 = Value::Null;
        for (p, x) in r["http_ceiling"].as_object().into_iter().flatten() {
            if p.as_str() == "/static/style.css" {
                http32 = x.clone();
            }
            row(format!("GET {p}, 32 clients (HTTP ceiling)"), x);
        }
        let (mut pipe32, mut append32) = (Value::Null, Value::Null);
        for x in r["pipeline_ceiling"].as_array().into_iter().flatten() {
            if x["store"] == "append" {
                append32 = x.clone();
                row(
                    format!(
                        "seal + plain append-only file + fdatasync, {} tasks: the disk's yardstick",
                        x["tasks"]
                    ),
                    x,
                );
                continue;
            }
            if x["tasks"] == 32 {
                pipe32 = x.clone();
            }
            row(
                format!(
                    "seal + `Store::put` (pipeline ceiling), {} tasks, no HTTP",
                    x["tasks"]
                ),
                x,
            );
        }
        let mut empty = f64::NAN;
        let mut million = f64::NAN;
        for g in r["growth"].as_array().into_iter().flatten() {
            let stored = g["stored"].as_u64().unwrap_or(0);
            if stored == 0 {
                empty = f(&g["ingest"]["rate"]);
            }
            if stored == 1_000_000 {
                million = f(&g["ingest"]["rate"]);
            }
            row(
                format!("POST report, 32 clients, {stored} stored"),
                &g["ingest"],
            );
        }
        println!();
        if !at32.is_null() {
            println!(
                "Ratios at 32 clients: ingest / HTTP ceiling (static) = {:.2}; ingest / pipeline ceiling = {:.2}; pipeline (`Store::put`) / append-only yardstick = {:.2}.\n",
                f(&at32["rate"]) / f(&http32["rate"]),
                f(&at32["rate"]) / f(&pipe32["rate"]),
                f(&pipe32["rate"]) / f(&append32["rate"]),
            );
        }
        let mut open_rate = f64::NAN;
        let growth: Vec<&Value> = r["growth"].as_array().into_iter().flatten().collect();
        if !growth.is_empty() {
            println!(
                "| stored before | prefill | server start | idle RSS MiB | ingest/s at 32 clients | vs empty | peak RSS MiB |"
            );
            println!("|---:|---|---:|---:|---:|---:|---:|");
            for g in &growth {
                let p = &g["prefill"];
                println!(
                    "| {} | {} | {:.2} s | {:.1} | {:.0} | {:+.1}% | {:.1} |",
                    g["stored"],
                    if p.is_null() {
                        "-".to_owned()
                    } else {
                        format!(
                            "{:.0} s ({:.0}/s, {:.2} GB)",
                            f(&p["secs"]),
                            f(&p["rate"]),
                            f(&p["disk_bytes"]) / 1e9
                        )
                    },
                    f(&g["server_startup_s"]),
                    f(&g["server_idle_rss_mib"]),
                    f(&g["ingest"]["rate"]),
                    (f(&g["ingest"]["rate"]) / empty - 1.0) * 100.0,
                    f(&g["ingest"]["server_peak_rss_mib"]),
                );
            }
            println!();
            for g in &growth {
                if !g["export"].is_null() {
                    println!(
                        "Export of {} stored blobs while serving (through the admin socket): {:.2} s = **{:.0} blobs/s** ({:.0} MB bundle); server RSS {:.0} MiB before, {:.0} MiB after.\n",
                        g["export"]["blobs"],
                        f(&g["export"]["secs"]),
                        f(&g["export"]["rate"]),
                        f(&g["export"]["bundle_bytes"]) / 1e6,
                        f(&g["server_idle_rss_mib"]),
                        f(&g["export"]["server_rss_after_mib"]),
                    );
                    open_rate = f(&g["open"]["rate"]);
                    println!(
                        "`salama open` of that bundle, one key: {:.2} s = **{:.0} reports/s**.\n",
                        f(&g["open"]["secs"]),
                        open_rate
                    );
                }
            }
        }

        let (pq_ratio, pq_open) = pq::summary(&r, &row);

        let mut rows = Vec::new();
        if let Some(dir) = o.0.get("criterion") {
            criterion_rows(Path::new(dir), &mut rows);
        }
        if !rows.is_empty() {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            println!("| micro-benchmark (criterion, median) | time |\n|---|---:|");
            for (id, ns) in rows {
                println!("| {id} | {:.1} µs |", ns / 1000.0);
            }
            println!();
        }

        // The issue's targets.
        let max_rss = r["sweep"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| f(&x["server_peak_rss_mib"]))
            .fold(0.0, f64::max);
        let ok = |b: bool| if b { "met" } else { "**missed**" };
        println!("| target | measured | |\n|---|---|---|");
        if !at32.is_null() {
            let (rate, errs) = (f(&at32["rate"]), at32["errors"].as_u64().unwrap_or(0));
            println!(
                "| ≥ 8,000 durable reports/s at 32 clients, 0 errors | {rate:.0}/s ({:.0}%), {errs} errors | {} |",
                rate / 80.0,
                ok(rate >= 8000.0 && errs == 0)
            );
            let p99 = f(&at32["latency"]["p99_ms"]);
            println!(
                "| p99 ≤ 25 ms at 32 clients | {p99:.2} ms | {} |",
                ok(p99 <= 25.0)
            );
            let cpu = f(&at32["server_cpu_ms_per_req"]);
            println!(
                "| ≤ 0.25 ms server CPU per report | {cpu:.3} ms | {} |",
                ok(cpu <= 0.25)
            );
            println!(
                "| peak RSS under load ≤ 64 MiB (onion off) | {max_rss:.1} MiB (max over the sweep) | {} |",
                ok(max_rss <= 64.0)
            );
        }
        if empty.is_finite() {
            if million.is_finite() {
                println!(
                    "| rate at 1M stored within 20% of empty | {:+.1}% | {} |",
                    (million / empty - 1.0) * 100.0,
                    ok(million >= 0.8 * empty)
                );
            } else {
                println!(
                    "| rate at 1M stored within 20% of empty | not run (SALAMA_BENCH_1M=1) | |"
                );
            }
        }
        if open_rate.is_finite() {
            println!(
                "| open ≥ 5,000 reports/s, one key | {open_rate:.0}/s | {} |",
                ok(open_rate >= 5000.0)
            );
        }
        if pq_ratio.is_finite() {
            println!(
                "| hybrid ingest ≥ 60% of X25519, 32 clients | {:.0}% | {} |",
                pq_ratio * 100.0,
                ok(pq_ratio >= 0.6)
            );
            println!(
                "| open ≥ 3,000 reports/s, one hybrid key | {pq_open:.0}/s | {} |",
                ok(pq_open >= 3000.0)
            );
        }
        Ok(())
    }
}
