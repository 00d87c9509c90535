//! `shipdeck demo`: the simulator in-process and a config of demo profiles pointing at it.
//! Nothing is written: the config lives in memory and credentials are the simulator's own.

use crate::config::Config;
use crate::sim::serverless_cd::Era;
use crate::sim::{ClockMode, SimHandle, SimOptions};

/// The Serverless-cd server era the demo imitates: Jan 2023 (per-environment applications,
/// `envName`, code-500 errors), the newer of the two the client supports.
pub(crate) const DEMO_SERVERLESS_CD_ERA: Era = Era::Jan;

/// Start the simulator at real speed with background activity, and build the demo profiles.
pub async fn start_sim() -> std::io::Result<(SimHandle, Config)> {
    let handle = crate::sim::start(SimOptions {
        clock: ClockMode::Real,
        demo: true,
        serverless_cd_era: DEMO_SERVERLESS_CD_ERA,
        ..SimOptions::default()
    })
    .await?;
    let cfg = demo_config(&handle);
    Ok((handle, cfg))
}

/// The demo profiles for a running simulator: each backend's own (`sim/<kind>/demo.rs`).
pub fn demo_config(handle: &SimHandle) -> Config {
    let mut cfg = Config::empty(None);
    for d in &crate::backends::BACKENDS {
        cfg.profiles.extend((d.sim.demo)(handle));
    }
    cfg.default_profile = cfg.profiles.first().map(|p| p.name.clone());
    cfg
}

/// A config for `shipdeck simulate`: every backend's part, credentials as `_env` fields with
/// the value to export beside them.
pub fn printable_config(handle: &SimHandle) -> String {
    let first = crate::backends::BACKENDS[0].kind.as_str();
    let mut text = format!("default_profile = \"sim-{first}\"\n");
    for d in &crate::backends::BACKENDS {
        text.push('\n');
        text.push_str(&(d.sim.printed)(handle));
    }
    text
}
