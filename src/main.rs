//! The `salama` command: `serve`, `demo`, `export`, `purge`, `status` on
//! the server; `keygen`, `open` and `desk` on the analysts' offline
//! workstation (the only commands in the `--no-default-features` build).
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use salama::keys;
use salama::passphrase;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "salama",
    // The commit and the build (server or analyst) too: see build.rs.
    version = env!("SALAMA_VERSION"),
    about = "Anonymous, sealed reporting of online child sexual abuse material over Tor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the reporting service.
    #[cfg(feature = "server")]
    Serve(server::ServeArgs),
    /// Try Salama on this machine with a throwaway DEMO key (loopback only).
    #[cfg(feature = "server")]
    Demo(server::DemoArgs),
    /// Bundle every report not yet exported (works while serving).
    #[cfg(feature = "server")]
    Export(server::ExportArgs),
    /// Delete exactly the reports of a bundle the analysts have opened.
    #[cfg(feature = "server")]
    Purge(server::PurgeArgs),
    /// Counts only: pending, exported, disk used, seal failures. Exits 2 when
    /// reports are refused, 3 when reports failed to seal.
    #[cfg(feature = "server")]
    Status(server::StatusArgs),
    /// The analysts' answers on the server (works while serving).
    #[cfg(feature = "server")]
    Answers {
        #[command(subcommand)]
        command: server::AnswersCommand,
    },
    /// Turn the analysts' answers (a CSV: receipt,status,reply,text) into a
    /// signed answers file for the server's `salama answers import`.
    Answer(answer::AnswerArgs),
    /// Make a new analyst key, passphrase-protected (as `age-keygen | age -p`),
    /// and beside it the key that signs answers files.
    Keygen {
        /// The identity file to write (mode 0600); its public key goes to FILE.pub,
        /// the answers signing key to FILE.sign and its public half to FILE.sign.pub.
        #[arg(long)]
        out: PathBuf,
        /// A post-quantum hybrid key (ML-KEM-768 + X25519, `age1pq1…`), so
        /// reports stay sealed against a future quantum computer. Every key
        /// on one server must then be of this kind.
        #[arg(long)]
        pq: bool,
    },
    /// Verify and decrypt a bundle offline, and write the triage files.
    Open {
        /// The bundle file(s) made by `salama export` (several: one merged triage set).
        #[arg(required = true)]
        bundle: Vec<PathBuf>,
        /// An analyst identity file (repeat for retired keys).
        #[arg(long, short = 'i', required = true)]
        identity: Vec<PathBuf>,
        /// Where to write reports.jsonl, urls.csv and index.html.
        #[arg(long)]
        out: PathBuf,
    },
    /// The analyst's desk: every bundle in one sealed ledger, a page on
    /// 127.0.0.1 to assess each URL once, and the exports hotlines exchange.
    Desk(desk::DeskArgs),
}

fn main() -> ExitCode {
    for problem in salama::hygiene::harden_process() {
        eprintln!("salama: warning: {problem}");
    }
    let cli = Cli::parse();
    let result = match cli.command {
        #[cfg(feature = "server")]
        Command::Serve(a) => server::serve(a),
        #[cfg(feature = "server")]
        Command::Demo(a) => server::demo(a),
        #[cfg(feature = "server")]
        Command::Export(a) => server::export(a),
        #[cfg(feature = "server")]
        Command::Purge(a) => server::purge(a),
        #[cfg(feature = "server")]
        Command::Status(a) => server::status(a),
        #[cfg(feature = "server")]
        Command::Answers { command } => server::answers(command),
        Command::Answer(a) => answer::answer(a),
        Command::Keygen { out, pq } => keygen(&out, pq),
        Command::Open {
            bundle,
            identity,
            out,
        } => open(&bundle, &identity, &out),
        Command::Desk(a) => desk::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("salama: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// `PATH` + `suffix` (`K` → `K.pub`, `K.sign`, `K.sign.pub`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn pub_path(out: &Path) -> PathBuf {
    with_suffix(out, ".pub")
}

/// What `keygen` made: the age recipient and the answers signing public key.
struct MadeKeys {
    recipient: String,
    signer: keys::signing::SignerKey,
}

/// The identity `out` (+ `out.pub`) and, beside it, the answers signing
/// key `out.sign` (+ `out.sign.pub`), both under one passphrase.
fn make_identity(
    out: &Path,
    pass: &passphrase::NewPassphrase,
    kind: keys::KeyKind,
) -> Result<MadeKeys> {
    let files = [
        out.to_owned(),
        pub_path(out),
        with_suffix(out, ".sign"),
        with_suffix(out, ".sign.pub"),
    ];
    if let Some(f) = files.iter().find(|f| f.exists()) {
        bail!(
            "{} already exists; refusing to overwrite a key",
            f.display()
        );
    }
    let new = keys::keygen(pass, kind).context("could not make the key")?;
    let signing = keys::signing::keygen(pass).context("could not make the signing key")?;
    write_new_private(out, &new.encrypted)?;
    write_new_private(&files[2], &signing.encrypted)?;
    for (path, public) in [
        (&files[1], new.recipient.as_str()),
        (&files[3], signing.public.as_str()),
    ] {
        std::fs::write(path, format!("{public}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(MadeKeys {
        recipient: new.recipient,
        signer: signing.public,
    })
}

fn keygen(out: &Path, pq: bool) -> Result<ExitCode> {
    let kind = if pq {
        keys::KeyKind::Hybrid
    } else {
        keys::KeyKind::X25519
    };
    let pass = passphrase::ask_new().context("no key was made")?;
    let made = make_identity(out, &pass, kind)?;
    eprintln!(
        "salama: wrote the passphrase-protected {} identity {} (keep it on this offline workstation)\nsalama: and its public key {} (key id {}); carry only that file to the server's keys directory{}",
        if pq {
            "post-quantum (ML-KEM-768 + X25519)"
        } else {
            "X25519"
        },
        out.display(),
        pub_path(out).display(),
        keys::KeyId::of(&made.recipient),
        if pq {
            ", where every key must be post-quantum too"
        } else {
            ""
        }
    );
    eprintln!(
        "salama: wrote the answers signing key {} under the same passphrase (keep it here too)\nsalama: and its public half {} (signer id {}); carry only that file to the server's keys/signers/ directory",
        with_suffix(out, ".sign").display(),
        with_suffix(out, ".sign.pub").display(),
        made.signer.id()
    );
    println!("{}", made.recipient);
    Ok(ExitCode::SUCCESS)
}

fn open(bundles: &[PathBuf], identity_files: &[PathBuf], out: &Path) -> Result<ExitCode> {
    let mut identities = Vec::new();
    for f in identity_files {
        let ids = keys::load_identities(f, || passphrase::ask_existing(&f.display().to_string()))?;
        identities.extend(ids);
    }
    let refs: Vec<&Path> = bundles.iter().map(PathBuf::as_path).collect();
    let outcomes = salama::open::open(&refs, &identities, out)?;
    let total: usize = outcomes.iter().map(|o| o.opened).sum();
    eprintln!("salama: opened {total} reports into {}", out.display());
    let mut all_complete = true;
    for o in &outcomes {
        if o.complete() {
            eprintln!(
                "salama: {}: all {} reports opened. Once they are triaged, give the operator this digest to purge them from the server:",
                salama::open::shown_path(&o.path),
                o.opened
            );
            // The digest alone on stdout for one bundle (scripts); with
            // several, each line names its bundle.
            if outcomes.len() == 1 {
                println!("{}", o.digest);
            } else {
                println!("{}  {}", o.digest, salama::open::shown_path(&o.path));
            }
        } else {
            all_complete = false;
            eprintln!(
                "salama: {}: {} entries could NOT be opened:",
                salama::open::shown_path(&o.path),
                o.bad.len()
            );
            // Names and reasons from the bundle arrive escaped (see
            // `salama::open::shown`): a stray entry cannot rewrite these lines.
            for (id, why) in &o.bad {
                eprintln!("  {id}: {why}");
            }
            eprintln!(
                "salama: do not purge {}: ask the operator to export it again with `salama export --all`, and check that the identity files are the right ones.",
                salama::open::shown_path(&o.path)
            );
        }
    }
    Ok(if all_complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Ctrl-C or SIGTERM (systemd's stop, `kill`): what ends `serve` and the
/// desk. The handlers are installed by this call, not when the future is
/// first polled: call it before saying "ready", or a stop in between would
/// kill the process instead of ending it cleanly. Needs a Tokio runtime.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("can install a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("can install a SIGINT handler");
    async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
}

/// `salama answer`: on the analysts' workstation (both builds).
mod answer {
    use super::*;
    use clap::Args;
    use salama::answers::{self, Salt};
    use salama::keys::signing;

    #[derive(Args)]
    pub struct AnswerArgs {
        /// The answers to send: a CSV with the header `receipt,status,reply,text`.
        input: PathBuf,
        /// The analyst's signing key (`KEY.sign`, made by `salama keygen`
        /// beside the identity); its sequence number is kept in `KEY.sign.seq`.
        #[arg(long)]
        key: PathBuf,
        /// A bundle from the server the answers are for: its manifest carries
        /// the server's follow-up salt.
        #[arg(long, required_unless_present = "salt", conflicts_with = "salt")]
        bundle: Option<PathBuf>,
        /// The server's follow-up salt (64 hex digits), instead of --bundle.
        #[arg(long)]
        salt: Option<String>,
        /// The answers file to write (it must not exist yet).
        #[arg(long)]
        out: PathBuf,
    }

    fn salt_of(a: &AnswerArgs) -> Result<Salt> {
        if let Some(s) = &a.salt {
            return Salt::parse_hex(s)
                .context("--salt must be the 64 hex digits of the server's follow-up salt");
        }
        let bundle = a.bundle.as_ref().context("give --bundle or --salt")?;
        let file = std::fs::File::open(bundle)
            .with_context(|| format!("cannot read {}", bundle.display()))?;
        let verified = salama::bundle::read(std::io::BufReader::new(file), |_, _| {})
            .with_context(|| format!("{} is not a bundle salama can read", bundle.display()))?;
        verified.manifest.salt().with_context(|| {
            format!(
                "{} carries no follow-up salt (it was exported by an older salama); give --salt from the server's DATA/follow-up.salt",
                bundle.display()
            )
        })
    }

    pub fn answer(a: AnswerArgs) -> Result<ExitCode> {
        if a.out.exists() {
            bail!("{} already exists; choose another name", a.out.display());
        }
        let salt = salt_of(&a)?;
        let csv = std::fs::read(&a.input)
            .with_context(|| format!("cannot read {}", a.input.display()))?;
        let rows = answers::csv::read(&csv).with_context(|| format!("{}", a.input.display()))?;
        drop(csv);
        if rows.is_empty() {
            bail!("{} holds no answers (only its header)", a.input.display());
        }
        let key = signing::load(&a.key, || {
            passphrase::ask_existing(&a.key.display().to_string())
        })?;
        // Only now take a sequence number: a file refused above uses none.
        let seq = signing::next_seq(&a.key)?;
        let bytes = answers::write_file(&rows, &key, seq, &salt)?;
        let count = rows.len();
        drop(rows);
        write_new_private(&a.out, &bytes)?;
        eprintln!(
            "salama: wrote {} answer(s) to {}, signed by {} as file number {seq}, for the server whose salt is {}",
            count,
            a.out.display(),
            key.public().id(),
            salt.fingerprint()
        );
        eprintln!(
            "salama: carry it to the server and run `salama answers import {}` there",
            a.out
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(feature = "server")]
mod server {
    use super::*;
    use clap::Args;
    use salama::admin::{self, Access};
    use salama::bundle::BundleDigest;
    use salama::config::Config;
    use salama::keys::Recipients;
    use salama::store::Store;
    use salama::web::{self, State};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    #[derive(Args)]
    pub struct ServeArgs {
        /// TOML configuration (every option: deploy/salama.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (store, admin socket, onion keys).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Directory of analysts' public keys (*.pub).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Also serve plain HTTP here (loopback; repeatable).
        #[arg(long)]
        listen: Vec<SocketAddr>,
        /// Do not run the in-process onion service.
        #[arg(long)]
        no_onion: bool,
        /// An arti configuration file (e.g. bridges, or a test network).
        #[arg(long)]
        tor_config: Option<PathBuf>,
    }

    #[derive(Args)]
    pub struct DemoArgs {
        /// Where the demo keeps its data and its throwaway key.
        #[arg(long, default_value = "salama-demo")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    }

    #[derive(Args)]
    pub struct ExportArgs {
        #[arg(long)]
        data: PathBuf,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
        /// Also include reports already exported but not yet purged.
        #[arg(long)]
        all: bool,
    }

    #[derive(Args)]
    pub struct PurgeArgs {
        #[arg(long)]
        data: PathBuf,
        /// The digest `salama open` printed for the bundle.
        #[arg(long)]
        confirm: String,
    }

    #[derive(Subcommand)]
    pub enum AnswersCommand {
        /// Check an answers file made by `salama answer` (signature, signer,
        /// salt, sequence number) and store its answers; all or nothing.
        Import(ImportArgs),
    }

    #[derive(Args)]
    pub struct ImportArgs {
        /// The answers file.
        file: PathBuf,
        /// The data directory `salama serve` uses.
        #[arg(long)]
        data: PathBuf,
        /// The server's keys directory (its `signers/` are trusted); needed
        /// only when the server is not running.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// The server's config (keys, data and `[follow_up]`), when it is not running.
        #[arg(long)]
        config: Option<PathBuf>,
    }

    pub fn answers(c: AnswersCommand) -> Result<ExitCode> {
        match c {
            AnswersCommand::Import(a) => import(a),
        }
    }

    fn import(a: ImportArgs) -> Result<ExitCode> {
        let bytes =
            std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
        let max = salama::answers::file::MAX_FILE_BYTES;
        if bytes.len() > max {
            bail!(
                "{} is refused, nothing was imported: it is larger than any answers file can be ({max} bytes)",
                a.file.display()
            );
        }
        let imported = match Access::import_via_server(&a.data, &bytes) {
            Some(through_server) => through_server?,
            None => {
                // No server: open the answers store here (it is locked
                // while we hold it, so a server started meanwhile waits).
                let config = load_config(a.config.as_deref())?;
                let keys = a.keys.or(config.keys).context(
                    "no server is running on this data directory, so give --keys (the server's keys directory) or --config",
                )?;
                if !a.data.join(salama::follow_up::salt::FILE).exists() {
                    bail!(
                        "{} has no follow-up salt: check --data (it must be the directory `salama serve` uses)",
                        a.data.display()
                    );
                }
                let follow_up = salama::follow_up::FollowUp::open(
                    &a.data,
                    Some(&keys),
                    &config.follow_up,
                    false,
                )?;
                follow_up.import(&bytes)?
            }
        };
        eprintln!(
            "salama: imported answers file {} from signer {}: {} new, {} replaced; {} answer(s) held; these expire on {}",
            imported.seq,
            imported.signer,
            imported.applied.added,
            imported.applied.replaced,
            imported.applied.held,
            imported.applied.expires
        );
        Ok(ExitCode::SUCCESS)
    }

    #[derive(Args)]
    pub struct StatusArgs {
        #[arg(long)]
        data: PathBuf,
        /// Read quotas from this config (when the server is not running).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    }

    fn load_config(path: Option<&Path>) -> Result<Config> {
        Ok(match path {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        })
    }

    pub fn serve(a: ServeArgs) -> Result<ExitCode> {
        let mut config = load_config(a.config.as_deref())?;
        if a.data.is_some() {
            config.data = a.data;
        }
        if a.keys.is_some() {
            config.keys = a.keys;
        }
        if !a.listen.is_empty() {
            config.listen = a.listen;
        }
        if a.no_onion {
            config.onion = Some(false);
        }
        if a.tor_config.is_some() {
            config.tor_config = a.tor_config;
        }
        run(config)
    }

    pub fn demo(a: DemoArgs) -> Result<ExitCode> {
        let keys_dir = a.data.join("demo-keys");
        let identity = a.data.join("demo-analyst.key.age");
        salama::store::create_private_dir(&a.data)?;
        if !identity.exists() {
            std::fs::create_dir_all(&keys_dir)?;
            let made = make_identity(
                &identity,
                &passphrase::NewPassphrase::published_demo(),
                keys::KeyKind::X25519,
            )?;
            std::fs::write(
                keys_dir.join("demo-analyst.pub"),
                format!("{}\n", made.recipient),
            )?;
            std::fs::create_dir_all(keys_dir.join("signers"))?;
            std::fs::write(
                keys_dir.join("signers/demo-analyst.pub"),
                format!("{}\n", made.signer.as_str()),
            )?;
        }
        eprintln!(
            "\n  ******************************************************************\n  **  DEMO MODE: reports are sealed to a THROWAWAY key whose       **\n  **  passphrase is \"demo\". Never use this for real reports.       **\n  ******************************************************************\n\n  Open http://{}/ in a browser and file a report. Then, in another terminal:\n    salama export --data {d} --out bundle.tar\n    SALAMA_PASSPHRASE=demo salama open bundle.tar -i {i} --out opened\n    salama purge --data {d} --confirm <digest printed by open>\n",
            a.listen,
            d = a.data.display(),
            i = identity.display()
        );
        let config = Config {
            data: Some(a.data.clone()),
            keys: Some(keys_dir),
            listen: vec![a.listen],
            onion: Some(false),
            ..Config::default()
        };
        run(config)
    }

    fn run(config: Config) -> Result<ExitCode> {
        let data = config
            .data
            .clone()
            .context("no data directory: give --data DIR or `data` in the config file")?;
        let keys_dir = config
            .keys
            .clone()
            .context("no keys directory: give --keys DIR or `keys` in the config file")?;
        let recipients = Recipients::load_dir(&keys_dir)?;
        let ids: Vec<String> = recipients.iter().map(|r| r.id().to_string()).collect();
        eprintln!(
            "salama: sealing every report to {} analyst key(s): {}",
            recipients.len(),
            ids.join(", ")
        );

        let onion = config.onion.unwrap_or(cfg!(feature = "onion"));
        if onion && !cfg!(feature = "onion") {
            bail!(
                "this salama was built without the onion service; run it with --no-onion and --listen behind C tor (see deploy/torrc)"
            );
        }
        if !onion && config.listen.is_empty() {
            bail!("nothing to serve on: give --listen 127.0.0.1:8080, or enable the onion service");
        }

        let store = Store::open(&data, config.limits.quota())
            .with_context(|| format!("cannot open the store in {}", data.display()))?;
        let follow_up =
            salama::follow_up::FollowUp::open(&data, Some(&keys_dir), &config.follow_up, true)
                .with_context(|| format!("cannot open the answers store in {}", data.display()))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("salama")
            .build()?;
        let served = rt.block_on(async move {
            // Before anything is served: a stop from here on ends us cleanly.
            let stop = super::stop_signal();
            let shutdown = CancellationToken::new();
            let tracker = TaskTracker::new();
            let admin_listener = admin::bind(&data)?;
            let state = Arc::new(State::new(
                store.clone(),
                follow_up.clone(),
                recipients,
                config.site.clone(),
                config.limits.clone(),
            ));

            let mut tasks = Vec::new();
            tasks.push(tokio::spawn(admin::run(
                admin_listener,
                store.clone(),
                follow_up.clone(),
                shutdown.clone(),
            )));
            tasks.push(tokio::spawn(follow_up.clone().run_sweeper(shutdown.clone())));
            tasks.push(tokio::spawn(web::admission::run_sweeper(
                state.clone(),
                shutdown.clone(),
            )));
            for addr in &config.listen {
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                eprintln!("salama: serving http://{}/", l.local_addr()?);
                if config.proxy_protocol {
                    eprintln!(
                        "salama: each connection there must start with C tor's PROXY header (proxy_protocol = true)"
                    );
                }
                tasks.push(tokio::spawn(web::run_listener(
                    l,
                    config.proxy_protocol,
                    state.clone(),
                    tracker.clone(),
                    shutdown.clone(),
                )));
            }
            #[cfg(feature = "onion")]
            if onion {
                let launched =
                    salama::onion::launch(&data, config.tor_config.as_deref(), &config.limits)
                        .await?;
                eprintln!(
                    "salama: onion service at http://{}/ (also in {})",
                    launched.address,
                    data.join("onion-address").display()
                );
                tasks.push(tokio::spawn(salama::onion::run(
                    launched,
                    state.clone(),
                    tracker.clone(),
                    shutdown.clone(),
                )));
            }
            eprintln!("salama: ready");

            stop.await;
            eprintln!("salama: stopping: finishing requests in flight");
            shutdown.cancel();
            tracker.close();
            if tokio::time::timeout(std::time::Duration::from_secs(15), tracker.wait())
                .await
                .is_err()
            {
                eprintln!("salama: some connections did not finish in 15 s; closing them");
            }
            for t in tasks {
                t.abort();
            }
            let _ = std::fs::remove_file(data.join(admin::SOCKET));
            store.close()?;
            eprintln!(
                "salama: stopped; {} reports accepted since start",
                state
                    .counters
                    .accepted
                    .load(std::sync::atomic::Ordering::Relaxed)
            );
            Ok::<_, anyhow::Error>(())
        });
        // Everything acknowledged is already durable and the store is
        // closed. Dropping the runtime would wait without end for arti's
        // background tasks (seen: one stuck after a panic during shutdown),
        // leaving systemd to SIGKILL us; bound the wait instead.
        rt.shutdown_timeout(std::time::Duration::from_secs(3));
        served?;
        Ok(ExitCode::SUCCESS)
    }

    pub fn export(a: ExportArgs) -> Result<ExitCode> {
        let access = Access::connect(&a.data, Default::default())?;
        let (count, digest) = access
            .export(a.all, &a.out)
            .with_context(|| format!("export to {} failed", a.out.display()))?;
        eprintln!("salama: exported {count} reports to {}", a.out.display());
        eprintln!("salama: bundle digest (the analyst's `salama open` prints the same):");
        println!("{digest}");
        Ok(ExitCode::SUCCESS)
    }

    pub fn purge(a: PurgeArgs) -> Result<ExitCode> {
        let Some(digest) = BundleDigest::parse(&a.confirm) else {
            bail!(
                "{:?} is not a bundle digest: give the 64 hex digits `salama open` printed",
                a.confirm
            );
        };
        let access = Access::connect(&a.data, Default::default())?;
        let n = access.purge(digest)?;
        eprintln!("salama: purged {n} reports of bundle {digest}");
        Ok(ExitCode::SUCCESS)
    }

    pub fn status(a: StatusArgs) -> Result<ExitCode> {
        let config = load_config(a.config.as_deref())?;
        let access = Access::connect(&a.data, config.limits.quota())?;
        let s = access.status()?;
        if a.json {
            println!("{}", serde_json::to_string(&s)?);
        } else {
            println!("pending reports:        {}", s.pending);
            println!("pending bytes:          {}", s.pending_bytes);
            println!("exported, not purged:   {}", s.exported);
            println!("bundles awaiting purge: {}", s.bundles_awaiting_purge);
            println!("disk used by the store: {} bytes", s.disk_used_bytes);
            println!("disk free:              {} bytes", s.disk_free_bytes);
            match &s.full {
                None => println!("accepting reports:      yes"),
                Some(why) => println!("accepting reports:      NO: {why}"),
            }
            if s.seal_failures > 0 {
                println!(
                    "SEAL FAILURES:          {} since the server started: those reporters were told to try later. See the server's log for why, fix it, then restart",
                    s.seal_failures
                );
            } else {
                println!("seal failures:          0");
            }
        }
        Ok(ExitCode::from(s.exit_code()))
    }
}

mod desk {
    use super::*;
    use clap::{Args, Subcommand};
    use salama::desk::disk::Disk;
    use salama::desk::import::{self, Imported};
    use salama::desk::serve;
    use salama::escape::terminal;
    use salama::report::Lang;

    #[derive(Args)]
    pub struct DeskArgs {
        /// The ledger's directory (made on first use; only ever sealed to your keys).
        #[arg(long, global = true)]
        ledger: Option<PathBuf>,
        /// An analyst identity file (repeat for retired keys). The ledger is
        /// sealed to the public keys of these identities.
        #[arg(long, short = 'i', global = true)]
        identity: Vec<PathBuf>,
        /// Where the page writes exports (default: LEDGER/../desk-exports).
        #[arg(long)]
        exports: Option<PathBuf>,
        /// The answers signing key (`K.sign` from `salama keygen`), to write
        /// the follow-up answers file.
        #[arg(long)]
        signing_key: Option<PathBuf>,
        /// The name assessments are recorded under (default: your key id).
        #[arg(long)]
        analyst: Option<String>,
        /// The port on 127.0.0.1 (default: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The page's first language: ar, fr or en.
        #[arg(long, default_value = "en")]
        lang: String,
        #[command(subcommand)]
        action: Option<DeskAction>,
    }

    #[derive(Subcommand)]
    enum DeskAction {
        /// Verify, decrypt and import bundles into the ledger, then exit.
        Import {
            /// The bundle file(s) made by `salama export`.
            #[arg(required = true)]
            bundle: Vec<PathBuf>,
        },
    }

    pub fn run(a: DeskArgs) -> Result<ExitCode> {
        let Some(ledger_dir) = a.ledger.clone() else {
            bail!("give the ledger's directory with --ledger DIR (it is made on first use)");
        };
        if a.identity.is_empty() {
            bail!("give your identity file with -i (the ledger is sealed to its public key)");
        }
        let mut identities = Vec::new();
        for f in &a.identity {
            identities.extend(keys::load_identities(f, || {
                passphrase::ask_existing(&f.display().to_string())
            })?);
        }
        let (mut disk, mut ledger) =
            Disk::open(&ledger_dir, &identities).context("cannot open the ledger")?;
        let today = salama::desk::today();
        if let Some(DeskAction::Import { bundle }) = a.action {
            let mut failed = false;
            for path in &bundle {
                let shown = terminal(&path.display().to_string()).into_owned();
                match import::import(path, &identities, &mut disk, &mut ledger, &today) {
                    Ok(Imported::New {
                        digest,
                        added,
                        duplicates,
                        already_assessed,
                    }) => {
                        eprintln!(
                            "salama: {shown}: imported {added} reports and additions ({duplicates} already in the ledger); {} of its URLs were already assessed. Once triaged, the operator may purge it with this digest:",
                            already_assessed.len()
                        );
                        println!("{digest}  {shown}");
                    }
                    Ok(Imported::Again { digest, day }) => {
                        eprintln!("salama: {shown}: already imported on {day}; nothing to do");
                        println!("{digest}  {shown}");
                    }
                    Err(e) => {
                        failed = true;
                        eprintln!("salama: error: {}", terminal(&e.to_string()));
                        if let import::ImportError::Bad { bad, .. } = &e {
                            for (id, why) in bad {
                                eprintln!("salama:   {}: {why}", terminal(id));
                            }
                        }
                    }
                }
            }
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }

        let lang = Lang::from_id(&a.lang).context("--lang must be ar, fr or en")?;
        let signer = match &a.signing_key {
            None => None,
            Some(p) => Some(salama::desk::export::Signer {
                key: keys::signing::load(p, || passphrase::ask_existing(&p.display().to_string()))?,
                path: p.clone(),
            }),
        };
        let analyst = a
            .analyst
            .clone()
            .unwrap_or_else(|| identities[0].recipient().id().to_string());
        let exports = a.exports.clone().unwrap_or_else(|| {
            ledger_dir
                .parent()
                .unwrap_or(Path::new("."))
                .join("desk-exports")
        });
        let desk = serve::Desk {
            disk,
            ledger,
            identities,
            analyst,
            exports,
            signer,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("cannot start the desk's runtime")?;
        rt.block_on(async move {
            let (listener, addr) = serve::bind(a.port)
                .await
                .context("cannot listen on 127.0.0.1")?;
            let secret = serve::new_secret();
            let stop = super::stop_signal();
            eprintln!(
                "salama: the desk is open for this workstation's browser only. Open this address (it holds a secret: do not share it):"
            );
            println!("http://{addr}/{}/{}/", &*secret, lang.id());
            std::io::stdout().flush().ok();
            serve::run(listener, desk, secret, lang, stop)
                .await
                .context("the desk stopped")?;
            eprintln!("salama: desk closed; everything saved is in the ledger");
            Ok(ExitCode::SUCCESS)
        })
    }
}
