//! Free Commit in the built-in simulator and the demo: its mounts, its demo profiles (an admin
//! and a read-only second account) and its part of the printed config.

use super::{FreeCommit, MOUNTS, router};
use crate::config::{Credential, Profile};
use crate::domain::Kind;
use crate::sim::{Backend, Core, SimHandle, SimOptions, profile_url};
use secrecy::SecretString;
use std::sync::Arc;

pub fn mount(core: Arc<Core>, _: &SimOptions) -> (axum::Router, Arc<dyn Backend>) {
    let fc = Arc::new(FreeCommit::new(core));
    (router(fc.clone()), fc)
}

pub(crate) fn describe(h: &SimHandle) -> Vec<String> {
    MOUNTS
        .iter()
        .map(|m| format!("  Free Commit   {}", h.url(m)))
        .collect()
}

pub fn profiles(h: &SimHandle) -> Vec<Profile> {
    let Some(url) = profile_url(h, "freecommit") else {
        return Vec::new();
    };
    let mut fc = Profile::new("demo-freecommit", Kind::Freecommit, url.clone());
    fc.username = Some("admin".into());
    fc.password = Some(Credential::Inline(SecretString::from("admin")));
    // A second account, read-only, to show profile switching and the badge.
    let mut alice = Profile::new("demo-freecommit-alice", Kind::Freecommit, url);
    alice.username = Some("alice".into());
    alice.password = Some(Credential::Inline(SecretString::from("alice")));
    alice.read_only = true;
    alice.theme = Some("red-prod".into());
    vec![fc, alice]
}

pub fn printed(h: &SimHandle) -> String {
    format!(
        r#"# Free Commit accounts: admin/admin, alice/alice, bob/bob, opsonly/opsonly
[profiles.sim-freecommit]
kind = "freecommit"
url = "{}"
username = "admin"
password_env = "SHIPDECK_SIM_PASSWORD"   # export SHIPDECK_SIM_PASSWORD=admin
"#,
        h.url("freecommit")
    )
}
