//! `shipdeck demo`: the simulator in-process and a config of demo profiles pointing at it.
//! Nothing is written: the config lives in memory and credentials are the simulator's own.

use crate::config::{Config, Credential, Profile};
use crate::domain::Kind;
use crate::sim::{ClockMode, SimHandle, SimOptions};
use secrecy::SecretString;

/// Start the simulator at real speed with background activity, and build the demo profiles.
pub async fn start_sim() -> std::io::Result<(SimHandle, Config)> {
    let handle = crate::sim::start(SimOptions {
        clock: ClockMode::Real,
        demo: true,
        ..SimOptions::default()
    })
    .await?;
    let cfg = demo_config(&handle);
    Ok((handle, cfg))
}

/// The demo profiles for a running simulator.
pub fn demo_config(handle: &SimHandle) -> Config {
    let mut cfg = Config::empty(None);
    let url = |prefix: &str| url::Url::parse(&handle.url(prefix)).expect("simulator URL");
    let mut fc = Profile::new("demo-freecommit", Kind::Freecommit, url("freecommit"));
    fc.username = Some("admin".into());
    fc.password = Some(Credential::Inline(SecretString::from("admin")));
    cfg.profiles.push(fc);
    // A second Free Commit account, read-only, to show profile switching and the badge.
    let mut alice = Profile::new("demo-freecommit-alice", Kind::Freecommit, url("freecommit"));
    alice.username = Some("alice".into());
    alice.password = Some(Credential::Inline(SecretString::from("alice")));
    alice.read_only = true;
    alice.theme = Some("red-prod".into());
    cfg.profiles.push(alice);
    // Candor: the dashboard's demo user, and its one runner for ad-hoc runs.
    let mut candor = Profile::new("demo-candor", Kind::Candor, url("candor"));
    candor.username = Some("demouser".into());
    candor.password = Some(Credential::Inline(SecretString::from("demouser")));
    candor.runner_url = Some(url("candor-runner"));
    candor.runner_token = Some(Credential::Inline(SecretString::from(
        crate::sim::candor::RUNNER_TOKEN,
    )));
    cfg.profiles.push(candor);
    cfg.default_profile = Some("demo-freecommit".into());
    cfg
}

/// The config `shipdeck simulate` prints: ready to paste, secrets by environment variable.
pub fn printable_config(handle: &SimHandle) -> String {
    format!(
        r#"# Free Commit accounts: admin/admin, alice/alice, bob/bob, opsonly/opsonly
default_profile = "sim-freecommit"

[profiles.sim-freecommit]
kind = "freecommit"
url = "{fc}"
username = "admin"
password_env = "SHIPDECK_SIM_PASSWORD"   # export SHIPDECK_SIM_PASSWORD=admin

# Candor accounts: demouser/demouser (assigned to pipelines 2, 3, 5, 6, 7), viewer/viewer
[profiles.sim-candor]
kind = "candor"
url = "{cd}"
username = "demouser"
password_env = "SHIPDECK_SIM_CANDOR_PASSWORD"   # export SHIPDECK_SIM_CANDOR_PASSWORD=demouser
runner_url = "{cdr}"
runner_token_env = "SHIPDECK_SIM_RUNNER_TOKEN"   # export SHIPDECK_SIM_RUNNER_TOKEN=runner-demo-token
"#,
        fc = handle.url("freecommit"),
        cd = handle.url("candor"),
        cdr = handle.url("candor-runner"),
    )
}
