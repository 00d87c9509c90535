//! Serverless-cd in the built-in simulator and the demo: its mount (the era's routes and the
//! era control route), its demo profile and its part of the printed config.

use super::{DEMO_TOKEN, ROUTE_PREFIX, ServerlessCd, control_router, router};
use crate::config::{Credential, Profile};
use crate::domain::Kind;
use crate::sim::{Backend, Core, SimHandle, SimOptions, profile_url};
use secrecy::SecretString;
use std::sync::Arc;

pub fn mount(core: Arc<Core>, opts: &SimOptions) -> (axum::Router, Arc<dyn Backend>) {
    let scd = Arc::new(ServerlessCd::new(core, opts.serverless_cd_era));
    (control_router(scd.clone()).merge(router(scd.clone())), scd)
}

pub(crate) fn describe(h: &SimHandle) -> Vec<String> {
    vec![format!(
        "  Serverless-cd {} · era {}",
        h.url("serverless-cd"),
        h.serverless_cd_era.describe()
    )]
}

pub fn profiles(h: &SimHandle) -> Vec<Profile> {
    let Some(url) = profile_url(h, "serverless-cd") else {
        return Vec::new();
    };
    let mut scd = Profile::new("demo-serverless-cd", Kind::ServerlessCd, url);
    scd.token = Some(Credential::Inline(SecretString::from(DEMO_TOKEN)));
    scd.route_prefix = Some(ROUTE_PREFIX.into());
    vec![scd]
}

pub fn printed(h: &SimHandle) -> String {
    format!(
        r#"# Serverless-cd server era: {} (choose with shipdeck simulate --serverless-cd-era nov|jan)
[profiles.sim-serverless-cd]
kind = "serverless-cd"
url = "{}"
route_prefix = "{ROUTE_PREFIX}"
token_env = "SHIPDECK_SIM_CD_TOKEN"   # export SHIPDECK_SIM_CD_TOKEN={DEMO_TOKEN}
"#,
        h.serverless_cd_era.describe(),
        h.url("serverless-cd")
    )
}
