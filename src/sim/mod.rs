//! The built-in simulator of the five backends (see `shared/api/`).
//!
//! One axum server on `127.0.0.1:<port>`; each backend is a sibling module
//! mounted under its own prefix (`/freecommit`, later `/nullplatform`, …) and
//! shares the common pieces of this module:
//!
//! * [`clock::Clock`]: simulated time, manual (tests) or following wall time (demo);
//! * a deterministic PRNG family derived from one seed ([`rng_for`]);
//! * the fault layer ([`layer`], spec in [`faults`]);
//! * the control routes under `/__sim/` ([`control`]), never faulted.
//!
//! Time-driven behaviour is evaluated lazily against the simulated clock on each
//! request, so a manual-clock test observes state deterministically after
//! `POST /__sim/clock/advance`.

pub mod aviator;
pub mod candor;
pub mod clock;
mod control;
mod decode;
pub mod faults;
pub mod freecommit;
mod layer;
mod mount;
pub mod nullplatform;
mod paging;
mod reply;
pub mod serverless_cd;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub use clock::Clock;
pub use faults::{FaultParseError, FaultSet, Faults};

/// Options of [`start`].
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Port on 127.0.0.1; 0 = ephemeral.
    pub port: u16,
    /// Initial state of the PRNG (`--sim-rng`).
    pub seed: u64,
    pub clock: ClockMode,
    /// Background activity (e.g. a webhook-style launch every 25 s).
    pub demo: bool,
    pub faults: Faults,
    /// Which real Serverless-cd server to behave like (`--serverless-cd-era`, default `nov`).
    pub serverless_cd_era: serverless_cd::Era,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            port: 0,
            seed: 1,
            clock: ClockMode::Manual,
            demo: false,
            faults: Faults::default(),
            serverless_cd_era: serverless_cd::Era::default(),
        }
    }
}

/// How simulated time moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Simulated time follows wall time (demo).
    Real,
    /// Time only moves via `POST /__sim/clock/advance {"seconds": n}` (tests).
    Manual,
}

/// State shared by every backend and the control routes.
#[derive(Debug)]
pub struct Core {
    pub clock: Clock,
    pub seed: u64,
    pub demo: bool,
    faults: Mutex<Faults>,
    fault_rng: Mutex<fastrand::Rng>,
    error_serial: AtomicU64,
    /// Requests the backends received (`GET /__sim/stats`).
    requests: stats::Requests,
}

impl Core {
    fn new(opts: &SimOptions) -> Self {
        Core {
            clock: Clock::new(opts.clock),
            seed: opts.seed,
            demo: opts.demo,
            faults: Mutex::new(opts.faults.clone()),
            fault_rng: Mutex::new(rng_for(opts.seed, "faults")),
            error_serial: AtomicU64::new(0),
            requests: stats::Requests::default(),
        }
    }

    /// Effective faults for one backend kind.
    pub(crate) fn faults_for(&self, kind: &str) -> FaultSet {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .for_backend(kind)
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_faults(&self, f: Faults) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// One uniform draw in `[0, 1)` from the fault PRNG.
    pub(crate) fn fault_draw(&self) -> f64 {
        self.fault_rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .f64()
    }

    fn next_error_serial(&self) -> u64 {
        self.error_serial.fetch_add(1, Ordering::Relaxed)
    }
}

/// A PRNG derived from the simulator seed and a purpose tag, so that each
/// backend/purpose has its own deterministic stream.
pub(crate) fn rng_for(seed: u64, tag: &str) -> fastrand::Rng {
    // FNV-1a of the tag, mixed with the seed through splitmix64.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tag.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    fastrand::Rng::with_seed(z ^ (z >> 31))
}

/// A backend whose state the control routes can reset.
pub trait Backend: Send + Sync {
    /// Back to the fixtures; queues and in-flight work are dropped.
    fn reset(&self);
}

/// A backend's base URL on this simulator as a profile URL (`None` only if it would not parse).
pub(crate) fn profile_url(h: &SimHandle, prefix: &str) -> Option<url::Url> {
    url::Url::parse(&h.url(prefix)).ok()
}

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    /// The Serverless-cd era the simulator started with.
    pub serverless_cd_era: serverless_cd::Era,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// Base URL of one backend prefix: `url("freecommit")` →
    /// `http://127.0.0.1:PORT/freecommit`.
    pub fn url(&self, prefix: &str) -> String {
        let prefix = prefix.trim_start_matches('/');
        if prefix.is_empty() {
            format!("http://{}", self.addr)
        } else {
            format!("http://{}/{prefix}", self.addr)
        }
    }

    /// Stops the server and waits for it (in-flight requests get 2 s, e.g. a
    /// hung response is then dropped).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Binds `127.0.0.1:port`, spawns the server on the current tokio runtime and
/// returns once it is listening.
pub async fn start(opts: SimOptions) -> std::io::Result<SimHandle> {
    let core = Arc::new(Core::new(&opts));
    // Every backend of the table mounts itself; the control routes reset them all.
    let mut app = axum::Router::new();
    let mut backends: Vec<Arc<dyn Backend>> = Vec::new();
    for d in &crate::backends::BACKENDS {
        let (routes, backend) = (d.sim.mount)(core.clone(), &opts);
        app = app.merge(routes);
        backends.push(backend);
    }
    let app = app
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            stats::count,
        ))
        .merge(control::router(core.clone(), backends))
        .fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                "no such simulator route\n",
            )
        });

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(SimHandle {
        addr,
        serverless_cd_era: opts.serverless_cd_era,
        shutdown: tx,
        task,
    })
}
