//! Step 1 (onion): the in-process onion service. arti gives us rendezvous
//! requests; each accepted BEGIN to port 80 becomes a byte stream handed to
//! the same HTTP service as the loopback listener ([`web::dispatch`]).
//! Every other port and stream type is refused. One rendezvous request is
//! one client circuit: its streams share one [`Circuit`] for the
//! per-circuit limits (`web::admission`), and at most
//! `max_streams_per_circuit` of them may be open at once.
//!
//! The service's identity key lives in arti's keystore under
//! `DATA/tor/state/keystore/hss/salama/`, so the address survives restarts;
//! it is printed at start and written to `DATA/onion-address`.
//!
//! Nothing about circuits or streams is logged. arti's own messages reach
//! stderr at `warn` only (bootstrap trouble, clock skew: what an operator
//! must act on), and arti scrubs what it logs (`safelog`). `SALAMA_LOG`
//! (e.g. `SALAMA_LOG=info`) raises that level for debugging, never needed
//! in production.

use crate::config::Limits;
use crate::store::create_private_dir;
use crate::web::circuit::Circuit;
use crate::web::{self, Source, State};
use arti_client::{TorClient, TorClientConfig};
use futures::{Stream, StreamExt};
use safelog::DisplayRedacted as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tor_cell::relaycell::msg::{Connected, End, EndReason};
use tor_config::sources::MustRead;
use tor_config::{ConfigurationSource, ConfigurationSources};
use tor_hsservice::config::OnionServiceConfigBuilder;
use tor_hsservice::{RendRequest, RunningOnionService, StreamRequest};
use tor_proto::stream::IncomingStreamRequest;
use tor_rtcompat::PreferredRuntime;

/// The nickname of our service in arti's keystore and state.
const NICKNAME: &str = "salama";
/// The only port we serve on.
const HTTP_PORT: u16 = 80;

#[derive(Debug, thiserror::Error)]
pub enum OnionError {
    #[error("cannot create the Tor state directory {0}: {1}")]
    Dir(PathBuf, std::io::Error),
    #[error(
        "the Tor configuration {0} cannot be used: {1}. It must be an arti configuration file (TOML, arti's option names)"
    )]
    Config(String, String),
    #[error("arti could not start: {0}")]
    Start(String),
    #[error("the onion service could not be launched: {0}")]
    Launch(String),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
}

/// A launched service: its address and its stream of rendezvous requests.
pub struct Launched {
    pub address: String,
    // Kept alive for as long as we serve: dropping either stops the service.
    _client: Arc<TorClient<PreferredRuntime>>,
    service: Arc<RunningOnionService>,
    requests: Pin<Box<dyn Stream<Item = RendRequest> + Send>>,
}

fn toml_string(p: &Path) -> String {
    toml::Value::String(p.display().to_string()).to_string()
}

/// arti's configuration: the operator's file (if any), with our storage
/// directories on top, so the onion key always lives in the data directory
/// and nothing is written to a home directory.
pub fn client_config(
    data: &Path,
    tor_config: Option<&Path>,
) -> Result<TorClientConfig, OnionError> {
    let tor_dir = data.join("tor");
    let (state, cache) = (tor_dir.join("state"), tor_dir.join("cache"));
    for d in [&tor_dir, &state, &cache] {
        create_private_dir(d).map_err(|e| OnionError::Dir(d.clone(), e))?;
    }
    let name = tor_config
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(defaults)".into());
    let mut sources = ConfigurationSources::new_empty();
    if let Some(p) = tor_config {
        if !p.is_file() {
            return Err(OnionError::Config(name, "the file does not exist".into()));
        }
        sources.push_source(ConfigurationSource::from_path(p), MustRead::MustRead);
    }
    sources.push_source(
        ConfigurationSource::from_verbatim(format!(
            "[storage]\nstate_dir = {}\ncache_dir = {}\n",
            toml_string(&state),
            toml_string(&cache)
        )),
        MustRead::MustRead,
    );
    let tree = sources
        .load()
        .map_err(|e| OnionError::Config(name.clone(), e.to_string()))?;
    tor_config::resolve::<TorClientConfig>(&tree)
        .map_err(|e| OnionError::Config(name, e.to_string()))
}

/// Start arti and launch the onion service. Returns as soon as the
/// service exists (its address is known); arti bootstraps and publishes
/// the descriptor in the background.
pub async fn launch(
    data: &Path,
    tor_config: Option<&Path>,
    limits: &Limits,
) -> Result<Launched, OnionError> {
    init_tor_logging();
    // arti uses rustls; without a process-wide provider the first TLS
    // handshake panics. A second install (tests) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = client_config(data, tor_config)?;
    let client = TorClient::builder()
        .config(config)
        .create_unbootstrapped()
        .map_err(|e| OnionError::Start(e.to_string()))?;
    let svc_config = OnionServiceConfigBuilder::default()
        .nickname(NICKNAME.parse().expect("a valid nickname"))
        // Like C tor's HiddenServiceMaxStreams + …CloseCircuit: a circuit
        // asking for more streams than a browser needs is torn down.
        .max_concurrent_streams_per_circuit(limits.max_streams_per_circuit.max(1) as u32)
        // Proof-of-work is only demanded from clients when we are under load.
        .enable_pow(true)
        .build()
        .map_err(|e| OnionError::Launch(e.to_string()))?;
    let (service, requests) = client
        .launch_onion_service(svc_config)
        .map_err(|e| OnionError::Launch(e.to_string()))?
        .ok_or_else(|| {
            OnionError::Launch("the service is disabled in the Tor configuration".into())
        })?;
    let address = service
        .onion_address()
        .ok_or_else(|| OnionError::Launch("the service has no identity key".into()))?
        .display_unredacted()
        .to_string();
    // Launching does not fetch the directory; bootstrapping does. Do it in
    // the background so the address is known (and printed) right away.
    let bootstrapping = client.clone();
    tokio::spawn(async move {
        match bootstrapping.bootstrap().await {
            Ok(()) => eprintln!("salama: connected to the Tor network"),
            Err(e) => eprintln!(
                "salama: ERROR: cannot connect to the Tor network: {e}. Check the network, the clock, and --tor-config (bridges?)"
            ),
        }
    });
    let file = data.join("onion-address");
    std::fs::write(&file, format!("{address}\n"))
        .map_err(|e| OnionError::Write(file.clone(), e))?;
    Ok(Launched {
        address,
        _client: client,
        service,
        requests: Box::pin(requests),
    })
}

/// Send arti's warnings to stderr (once per process).
fn init_tor_logging() {
    let filter = std::env::var("SALAMA_LOG").unwrap_or_else(|_| "warn".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .try_init();
}

/// Serve rendezvous requests until `shutdown`.
pub async fn run(
    launched: Launched,
    state: Arc<State>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let Launched {
        mut requests,
        service,
        _client,
        ..
    } = launched;
    tracker.spawn(report_state_changes(service.clone(), shutdown.clone()));
    let busy = Arc::new(web::busy_response(&state));
    loop {
        let next = tokio::select! {
            r = requests.next() => r,
            _ = shutdown.cancelled() => break,
        };
        let Some(rend) = next else { break };
        let (state, busy, tracker2, shutdown) = (
            state.clone(),
            busy.clone(),
            tracker.clone(),
            shutdown.clone(),
        );
        tracker.spawn(async move {
            // One rendezvous request is one client circuit.
            let Ok(mut streams) = rend.accept().await else {
                return;
            };
            let circuit = Circuit::fresh();
            loop {
                let next = tokio::select! {
                    s = streams.next() => s,
                    _ = shutdown.cancelled() => None,
                };
                let Some(stream) = next else { break };
                handle_stream(stream, circuit, &state, &busy, &tracker2, &shutdown).await;
            }
        });
    }
    drop(service);
}

async fn handle_stream(
    stream: StreamRequest,
    circuit: Circuit,
    state: &Arc<State>,
    busy: &Arc<Vec<u8>>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) {
    let ok = matches!(stream.request(), IncomingStreamRequest::Begin(b) if b.port() == HTTP_PORT);
    if !ok {
        // DONE, as other onion service implementations answer, so the
        // refusal does not fingerprint us.
        let _ = stream.reject(End::new_with_reason(EndReason::DONE)).await;
        return;
    }
    if let Ok(data) = stream.accept(Connected::new_empty()).await {
        web::dispatch(
            data,
            Source::Circuit(circuit),
            state,
            busy,
            tracker,
            shutdown,
        );
    }
}

/// Print the service's state when it changes (never anything about a
/// client), so the operator can see it become reachable.
async fn report_state_changes(service: Arc<RunningOnionService>, shutdown: CancellationToken) {
    let mut events = service.status_events();
    let mut last = String::new();
    loop {
        let next = tokio::select! {
            e = events.next() => e,
            _ = shutdown.cancelled() => None,
        };
        let Some(status) = next else { break };
        let now = format!("{:?}", status.state());
        if now != last {
            eprintln!("salama: onion service state: {now}");
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_goes_under_the_data_directory_and_bad_configs_are_named() {
        let d = tempfile::tempdir().unwrap();
        let c = client_config(d.path(), None).unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains(&d.path().join("tor/state").display().to_string()),
            "{shown}"
        );
        let bad = d.path().join("arti.toml");
        std::fs::write(&bad, "[tor_network\n").unwrap();
        let e = client_config(d.path(), Some(&bad)).unwrap_err().to_string();
        assert!(e.contains("arti.toml"), "{e}");
        let e = client_config(d.path(), Some(&d.path().join("missing.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
