//! nullplatform in the built-in simulator and the demo: its mount, its demo profile and its
//! part of the printed config.

use super::{Nullplatform, router};
use crate::config::{Credential, Profile};
use crate::domain::Kind;
use crate::sim::{Backend, Core, SimHandle, SimOptions, profile_url};
use secrecy::SecretString;
use std::sync::Arc;

pub fn mount(core: Arc<Core>, _: &SimOptions) -> (axum::Router, Arc<dyn Backend>) {
    let np = Arc::new(Nullplatform::new(core));
    (router(np.clone()), np)
}

pub(crate) fn describe(h: &SimHandle) -> Vec<String> {
    vec![format!("  nullplatform  {}", h.url("nullplatform"))]
}

pub fn profiles(h: &SimHandle) -> Vec<Profile> {
    let Some(url) = profile_url(h, "nullplatform") else {
        return Vec::new();
    };
    let mut np = Profile::new("demo-nullplatform", Kind::Nullplatform, url);
    np.api_key = Some(Credential::Inline(SecretString::from("np-demo-key")));
    vec![np]
}

pub fn printed(h: &SimHandle) -> String {
    format!(
        r#"# nullplatform API keys: np-demo-key, np-ci-key
[profiles.sim-nullplatform]
kind = "nullplatform"
url = "{}"
api_key_env = "SHIPDECK_SIM_NP_KEY"   # export SHIPDECK_SIM_NP_KEY=np-demo-key
"#,
        h.url("nullplatform")
    )
}
