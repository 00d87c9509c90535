//! Candor in the built-in simulator and the demo: its mount (dashboard and runner), its demo
//! profile (the dashboard's demo user and its one runner) and its part of the printed config.

use super::{Candor, RUNNER_TOKEN, router};
use crate::config::{Credential, Profile};
use crate::domain::Kind;
use crate::sim::{Backend, Core, SimHandle, SimOptions, profile_url};
use secrecy::SecretString;
use std::sync::Arc;

pub fn mount(core: Arc<Core>, _: &SimOptions) -> (axum::Router, Arc<dyn Backend>) {
    let cd = Arc::new(Candor::new(core));
    (router(cd.clone()), cd)
}

pub(crate) fn describe(h: &SimHandle) -> Vec<String> {
    vec![format!(
        "  Candor        {} (runner {})",
        h.url("candor"),
        h.url("candor-runner")
    )]
}

pub fn profiles(h: &SimHandle) -> Vec<Profile> {
    let (Some(url), Some(runner)) = (profile_url(h, "candor"), profile_url(h, "candor-runner"))
    else {
        return Vec::new();
    };
    let mut candor = Profile::new("demo-candor", Kind::Candor, url);
    candor.username = Some("demouser".into());
    candor.password = Some(Credential::Inline(SecretString::from("demouser")));
    candor.runner_url = Some(runner);
    candor.runner_token = Some(Credential::Inline(SecretString::from(RUNNER_TOKEN)));
    vec![candor]
}

pub fn printed(h: &SimHandle) -> String {
    format!(
        r#"# Candor accounts: demouser/demouser (assigned to pipelines 2, 3, 5, 6, 7), viewer/viewer
[profiles.sim-candor]
kind = "candor"
url = "{}"
username = "demouser"
password_env = "SHIPDECK_SIM_CANDOR_PASSWORD"   # export SHIPDECK_SIM_CANDOR_PASSWORD=demouser
runner_url = "{}"
runner_token_env = "SHIPDECK_SIM_RUNNER_TOKEN"   # export SHIPDECK_SIM_RUNNER_TOKEN={RUNNER_TOKEN}
"#,
        h.url("candor"),
        h.url("candor-runner")
    )
}
