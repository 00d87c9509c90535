//! `shipdeck demo`: the simulator in-process and a config of demo profiles pointing at it.
//! Nothing is written: the config lives in memory and credentials are the simulator's own.

use crate::config::{Config, Credential, Profile, ReleaseProject};
use crate::domain::Kind;
use crate::sim::serverless_cd::Era;
use crate::sim::{ClockMode, SimHandle, SimOptions};
use secrecy::SecretString;

/// The Serverless-cd server era the demo imitates: Jan 2023 (per-environment applications,
/// `envName`, code-500 errors), the newer of the two the client supports.
pub const DEMO_SERVERLESS_CD_ERA: Era = Era::Jan;

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

/// The demo profiles for a running simulator.
pub fn demo_config(handle: &SimHandle) -> Config {
    let mut cfg = Config::empty(None);
    // `http://127.0.0.1:<port>/<prefix>` always parses; were it not to, no demo profile.
    let url = |prefix: &str| url::Url::parse(&handle.url(prefix)).ok();
    let (Some(fc_url), Some(av_url), Some(scd_url), Some(np_url), Some(cd_url), Some(runner_url)) = (
        url("freecommit"),
        url("aviator"),
        url("serverless-cd"),
        url("nullplatform"),
        url("candor"),
        url("candor-runner"),
    ) else {
        return cfg;
    };
    let mut fc = Profile::new("demo-freecommit", Kind::Freecommit, fc_url.clone());
    fc.username = Some("admin".into());
    fc.password = Some(Credential::Inline(SecretString::from("admin")));
    cfg.profiles.push(fc);
    // A second Free Commit account, read-only, to show profile switching and the badge.
    let mut alice = Profile::new("demo-freecommit-alice", Kind::Freecommit, fc_url);
    alice.username = Some("alice".into());
    alice.password = Some(Credential::Inline(SecretString::from("alice")));
    alice.read_only = true;
    alice.theme = Some("red-prod".into());
    cfg.profiles.push(alice);
    let mut av = Profile::new("demo-aviator", Kind::Aviator, av_url);
    av.token = Some(Credential::Inline(SecretString::from(
        crate::sim::aviator::TOKEN_ALICE,
    )));
    av.projects = aviator_projects();
    av.protected_environments = vec!["production".into()];
    cfg.profiles.push(av);
    let mut scd = Profile::new("demo-serverless-cd", Kind::ServerlessCd, scd_url);
    scd.token = Some(Credential::Inline(SecretString::from(
        crate::sim::serverless_cd::DEMO_TOKEN,
    )));
    scd.route_prefix = Some(crate::sim::serverless_cd::ROUTE_PREFIX.into());
    cfg.profiles.push(scd);
    let mut np = Profile::new("demo-nullplatform", Kind::Nullplatform, np_url);
    np.api_key = Some(Credential::Inline(SecretString::from("np-demo-key")));
    cfg.profiles.push(np);
    // Candor: the dashboard's demo user, and its one runner for ad-hoc runs.
    let mut candor = Profile::new("demo-candor", Kind::Candor, cd_url);
    candor.username = Some("demouser".into());
    candor.password = Some(Credential::Inline(SecretString::from("demouser")));
    candor.runner_url = Some(runner_url);
    candor.runner_token = Some(Credential::Inline(SecretString::from(
        crate::sim::candor::RUNNER_TOKEN,
    )));
    cfg.profiles.push(candor);
    cfg.default_profile = Some("demo-freecommit".into());
    cfg
}

/// The simulator's Aviator release projects, environments in promotion order.
fn aviator_projects() -> Vec<ReleaseProject> {
    crate::sim::aviator::CATALOG
        .iter()
        .map(|p| ReleaseProject {
            name: p.name.to_string(),
            environments: p.environments.iter().map(|e| e.name.to_string()).collect(),
        })
        .collect()
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

# Aviator tokens: av_uat_demo_alice (user), av_api_demo (account), av_uat_demo_viewer (read-only)
[profiles.sim-aviator]
kind = "aviator"
url = "{av}"
token_env = "SHIPDECK_SIM_AVIATOR_TOKEN"   # export SHIPDECK_SIM_AVIATOR_TOKEN=av_uat_demo_alice
protected_environments = ["production"]
projects = [
{projects}]

# Serverless-cd server era: {scd_era} (choose with shipdeck simulate --serverless-cd-era nov|jan)
[profiles.sim-serverless-cd]
kind = "serverless-cd"
url = "{scd}"
route_prefix = "{scd_prefix}"
token_env = "SHIPDECK_SIM_CD_TOKEN"   # export SHIPDECK_SIM_CD_TOKEN={scd_token}

# nullplatform API keys: np-demo-key, np-ci-key
[profiles.sim-nullplatform]
kind = "nullplatform"
url = "{np}"
api_key_env = "SHIPDECK_SIM_NP_KEY"   # export SHIPDECK_SIM_NP_KEY=np-demo-key

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
        av = handle.url("aviator"),
        projects = aviator_projects()
            .iter()
            .map(|p| format!(
                "  {{ name = {:?}, environments = {:?} }},\n",
                p.name, p.environments
            ))
            .collect::<String>(),
        scd = handle.url("serverless-cd"),
        scd_era = handle.serverless_cd_era.describe(),
        scd_prefix = crate::sim::serverless_cd::ROUTE_PREFIX,
        scd_token = crate::sim::serverless_cd::DEMO_TOKEN,
        np = handle.url("nullplatform"),
        cd = handle.url("candor"),
        cdr = handle.url("candor-runner"),
    )
}
