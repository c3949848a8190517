//! The `salama` command: `serve`, `demo`, `export`, `purge`, `status` on
//! the server; `keygen` and `open` on the analysts' offline workstation
//! (the only commands in the `--no-default-features` build).
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
    /// Counts only: pending, exported, disk used. Exits 2 when reports are refused.
    #[cfg(feature = "server")]
    Status(server::StatusArgs),
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
        Command::Keygen { out, pq } => keygen(&out, pq),
        Command::Open {
            bundle,
            identity,
            out,
        } => open(&bundle, &identity, &out),
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
    pass: age::secrecy::SecretString,
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
    let new = keys::keygen(pass.clone(), kind).context("could not make the key")?;
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
    let pass = passphrase::ask_new().context("no passphrase")?;
    let made = make_identity(out, pass, kind)?;
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
                o.path.display(),
                o.opened
            );
            // The digest alone on stdout for one bundle (scripts); with
            // several, each line names its bundle.
            if outcomes.len() == 1 {
                println!("{}", o.digest);
            } else {
                println!("{}  {}", o.digest, o.path.display());
            }
        } else {
            all_complete = false;
            eprintln!(
                "salama: {}: {} entries could NOT be opened:",
                o.path.display(),
                o.bad.len()
            );
            for (id, why) in &o.bad {
                eprintln!("  {id}: {why}");
            }
            eprintln!(
                "salama: do not purge {}: ask the operator to export it again with `salama export --all`, and check that the identity files are the right ones.",
                o.path.display()
            );
        }
    }
    Ok(if all_complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
                age::secrecy::SecretString::from("demo".to_owned()),
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
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("salama")
            .build()?;
        let served = rt.block_on(async move {
            let shutdown = CancellationToken::new();
            let tracker = TaskTracker::new();
            let admin_listener = admin::bind(&data)?;
            let state = Arc::new(State::new(
                store.clone(),
                recipients,
                config.site.clone(),
                config.limits.clone(),
            ));

            let mut tasks = Vec::new();
            tasks.push(tokio::spawn(admin::run(
                admin_listener,
                store.clone(),
                shutdown.clone(),
            )));
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

            wait_for_signal().await;
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

    async fn wait_for_signal() {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can install a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
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
        }
        Ok(if s.full.is_some() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    }
}
