//! Aviator Releases in the built-in simulator and the demo: its mount, its demo profile (the
//! simulator's catalog, production protected) and its part of the printed config.

use super::{Aviator, CATALOG, TOKEN_ALICE, router};
use crate::config::{Credential, Profile, ReleaseProject};
use crate::domain::Kind;
use crate::sim::{Backend, Core, SimHandle, SimOptions, profile_url};
use secrecy::SecretString;
use std::sync::Arc;

pub fn mount(core: Arc<Core>, _: &SimOptions) -> (axum::Router, Arc<dyn Backend>) {
    let av = Arc::new(Aviator::new(core));
    (router(av.clone()), av)
}

pub(crate) fn describe(h: &SimHandle) -> Vec<String> {
    vec![format!("  Aviator       {}", h.url("aviator"))]
}

/// The simulator's release projects, environments in promotion order.
fn projects() -> Vec<ReleaseProject> {
    CATALOG
        .iter()
        .map(|p| ReleaseProject {
            name: p.name.to_string(),
            environments: p.environments.iter().map(|e| e.name.to_string()).collect(),
        })
        .collect()
}

pub fn profiles(h: &SimHandle) -> Vec<Profile> {
    let Some(url) = profile_url(h, "aviator") else {
        return Vec::new();
    };
    let mut av = Profile::new("demo-aviator", Kind::Aviator, url);
    av.token = Some(Credential::Inline(SecretString::from(TOKEN_ALICE)));
    av.projects = projects();
    av.protected_environments = vec!["production".into()];
    vec![av]
}

pub fn printed(h: &SimHandle) -> String {
    let projects: String = projects()
        .iter()
        .map(|p| {
            format!(
                "  {{ name = {:?}, environments = {:?} }},\n",
                p.name, p.environments
            )
        })
        .collect();
    format!(
        r#"# Aviator tokens: av_uat_demo_alice (user), av_api_demo (account), av_uat_demo_viewer (read-only)
[profiles.sim-aviator]
kind = "aviator"
url = "{}"
token_env = "SHIPDECK_SIM_AVIATOR_TOKEN"   # export SHIPDECK_SIM_AVIATOR_TOKEN={TOKEN_ALICE}
protected_environments = ["production"]
projects = [
{projects}]
"#,
        h.url("aviator")
    )
}
