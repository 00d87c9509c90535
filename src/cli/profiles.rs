//! `shipdeck profiles`: every profile, where its credential comes from, and whether it logs in.

use super::EXIT_OK;
use super::out::out;
use crate::api;
use crate::config::Config;
use std::time::Duration;

pub async fn run(cfg: &Config) -> i32 {
    let checks = cfg.profiles.iter().map(|p| async move {
        let status = match api::connect(p) {
            Err(e) => format!("✘ {e}"),
            Ok(b) => {
                let status =
                    match tokio::time::timeout(Duration::from_secs(p.timeout_secs + 5), b.login())
                        .await
                    {
                        Ok(Ok(s)) => format!("✔ logged in as {}", s.user.name),
                        Ok(Err(e)) => format!("✘ {e}"),
                        Err(_) => "✘ no answer".to_string(),
                    };
                // The check must not leave a server-side session behind (Candor).
                let _ = b.logout().await;
                status
            }
        };
        (p, status)
    });
    let results = futures::future::join_all(checks).await;
    let default = cfg
        .default_profile
        .as_deref()
        .or(cfg.profiles.first().map(|p| p.name.as_str()));
    for (p, status) in results {
        let cred = [&p.password, &p.api_key, &p.token]
            .into_iter()
            .flatten()
            .next()
            .map(|c| c.source())
            .unwrap_or_else(|| "-".into());
        let mark = if Some(p.name.as_str()) == default {
            "*"
        } else {
            " "
        };
        let ro = if p.read_only { " read-only" } else { "" };
        out!(
            "{mark} {:<24} {:<14} {}  (secret: {cred}{ro})\n    {}",
            p.name,
            p.kind.as_str(),
            p.url,
            crate::ui::clean(&status)
        );
    }
    EXIT_OK
}
