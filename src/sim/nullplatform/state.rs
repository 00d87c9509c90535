//! nullplatform simulator state: applications, parameters, builds, assets, tokens, and the
//! demo's external-CI activity (§9 #11–#12 of `shared/api/nullplatform.md`), built
//! deterministically from the seed.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::sim::clock::NS_PER_SEC;
use crate::sim::rng_for;

/// Demo: a new external build every 30 s (§9 #12).
pub(crate) const DEMO_EVERY_NS: i64 = 30 * NS_PER_SEC;
/// Default token lifetime (§9 #2).
pub(crate) const TOKEN_TTL_NS: i64 = 3600 * NS_PER_SEC;
/// Valid API keys (§9 #1).
pub const API_KEYS: &[&str] = &["np-demo-key", "np-ci-key"];

/// The nine parameter names the GitLab templates expect (§5), carried by apps 1–3.
pub const BUILD_PARAMS: &[(&str, bool)] = &[
    ("BUILD_AWS_ACCESS_KEY", true),
    ("BUILD_AWS_SECRET_ACCESS_KEY", true),
    ("BUILD_AWS_REGION", false),
    ("BUILD_AZURE_REGISTRY_LOGIN_SERVER", false),
    ("BUILD_AZURE_REGISTRY_USERNAME", false),
    ("BUILD_AZURE_REGISTRY_PASSWORD", true),
    ("BUILD_DOCKER_REGISTRY_SERVER", false),
    ("BUILD_DOCKER_REGISTRY_USERNAME", false),
    ("BUILD_DOCKER_REGISTRY_PASSWORD", true),
];

/// Application names; ids are 1..=24 in this order.
pub const APP_NAMES: &[&str] = &[
    "payments",
    "checkout",
    "catalog",
    "accounts",
    "notifications",
    "search",
    "inventory",
    "shipping",
    "billing",
    "reports",
    "gateway",
    "auth-service",
    "recommendations",
    "media",
    "pricing",
    "orders",
    "loyalty",
    "fraud-check",
    "ledger",
    "webhooks",
    "legacy-portal",
    "old-crm",
    "data-lake",
    "ml-scoring",
];

/// Other parameter names: (name, secret).
const OTHER_PARAMS: &[(&str, bool)] = &[
    ("LOG_LEVEL", false),
    ("DATABASE_URL", true),
    ("REDIS_URL", false),
    ("SENTRY_DSN", true),
    ("PORT", false),
    ("API_TOKEN", true),
    ("FEATURE_FLAGS_URL", false),
    ("NODE_ENV", false),
    ("STRIPE_API_KEY", true),
    ("CACHE_TTL", false),
    ("TZ", false),
    ("SMTP_PASSWORD", true),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", false),
    ("JAVA_OPTS", false),
];

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub status: &'static str,
    pub namespace_id: i64,
    pub repository_url: String,
    pub app_path: Option<String>,
}

impl App {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "status": self.status,
            "namespace_id": self.namespace_id,
            "repository_url": self.repository_url,
            "repository_app_path": self.app_path,
            "code_repository": {"url": self.repository_url},
            "code_repository_app_path": self.app_path,
            "is_mono_repo": self.app_path.is_some(),
            "nrn": format!(
                "organization=1:account=2:namespace={}:application={}",
                self.namespace_id, self.id
            ),
            "tags": {},
            "settings": {},
            "messages": [],
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub name: String,
    pub value: Option<String>,
    pub secret: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct BuildRec {
    pub id: i64,
    pub app_id: i64,
    pub status: String,
    pub branch: String,
    pub commit_id: String,
    pub permalink: Option<String>,
    pub description: Option<String>,
    pub created: i64,
    pub updated: i64,
}

/// RFC 3339 UTC with milliseconds and `Z` (§9 #7).
pub(crate) fn fmt_ms(ns: i64) -> String {
    let secs = ns.div_euclid(NS_PER_SEC);
    let ms = ns.rem_euclid(NS_PER_SEC) / 1_000_000;
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    format!("{}.{ms:03}Z", dt.format("%Y-%m-%dT%H:%M:%S"))
}

impl BuildRec {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "application_id": self.app_id,
            "status": self.status,
            "branch": self.branch,
            "commit": {"id": self.commit_id, "permalink": self.permalink},
            "description": self.description,
            "created_at": fmt_ms(self.created),
            "updated_at": fmt_ms(self.updated),
        })
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "failed" | "successful")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AssetRec {
    pub id: i64,
    pub build_id: i64,
    pub name: String,
    pub kind: String,
    pub metadata: Value,
    /// (provider, url)
    pub targets: Vec<(String, String)>,
}

impl AssetRec {
    pub(crate) fn to_json(&self) -> Value {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|(p, u)| json!({"url": u, "provider": p}))
            .collect();
        json!({
            "id": self.id,
            "build_id": self.build_id,
            "name": self.name,
            "type": self.kind,
            "metadata": self.metadata,
            "targets": targets,
        })
    }
}

/// Targets of a new asset (§9 #10).
pub(crate) fn targets_for(
    kind: &str,
    url: Option<&str>,
    slug: &str,
    sha: &str,
) -> Vec<(String, String)> {
    if let Some(u) = url {
        return vec![("generic".into(), u.to_string())];
    }
    match kind {
        "lambda" => vec![(
            "aws-s3".into(),
            format!("https://np-assets-sim.s3.amazonaws.com/{slug}/{sha}.zip?X-Amz-Expires=900"),
        )],
        // docker-image, and any other type: the image registry.
        _ => vec![(
            "aws-ecr".into(),
            format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{slug}:{sha}"),
        )],
    }
}

/// A demo build's script (§9 #12).
#[derive(Debug, Clone)]
struct DemoRun {
    build_id: i64,
    t0: i64,
    fails: bool,
    /// Steps done: 0 created, 1 in_progress, 2 asset (or skipped), 3 final.
    step: u8,
}

#[derive(Debug)]
pub(crate) struct NpState {
    pub apps: Vec<App>,
    pub params: HashMap<i64, Vec<Param>>,
    pub builds: BTreeMap<i64, BuildRec>,
    pub assets: BTreeMap<i64, AssetRec>,
    /// token → (issued_at, expires_at)
    pub tokens: HashMap<String, (i64, i64)>,
    token_rng: fastrand::Rng,
    pub next_build: i64,
    pub next_asset: i64,
    demo: bool,
    next_demo: i64,
    demo_rng: fastrand::Rng,
    runs: Vec<DemoRun>,
}

fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)]))
        .collect()
}

const BRANCHES: &[&str] = &[
    "main",
    "main",
    "main",
    "develop",
    "release/1.4",
    "fix/rounding",
];
const MESSAGES: &[&str] = &[
    "Fix rounding in invoice totals",
    "Bump dependencies",
    "Add retry to the webhook sender",
    "Refactor config loading",
    "Speed up the search index rebuild",
    "Log request ids",
    "Handle empty carts",
    "Update Dockerfile base image",
];

impl NpState {
    pub fn new(seed: u64, start: i64, now: i64, demo: bool) -> NpState {
        let mut rng = rng_for(seed, "nullplatform-fixtures");
        let mut apps = Vec::new();
        for (i, name) in APP_NAMES.iter().enumerate() {
            let id = i as i64 + 1;
            let status = match id {
                21 | 22 => "inactive",
                23 => "creating",
                24 => "failed",
                _ => "active",
            };
            // Apps 7–9 live in one mono repository.
            let (repo, path) = if (7..=9).contains(&id) {
                (
                    "https://github.com/acme/platform".to_string(),
                    Some(format!("services/{name}")),
                )
            } else {
                (format!("https://github.com/acme/{name}"), None)
            };
            apps.push(App {
                id,
                name: name.to_string(),
                slug: name.to_string(),
                status,
                namespace_id: 7 + id % 3,
                repository_url: repo,
                app_path: path,
            });
        }

        let mut params = HashMap::new();
        for app in &apps {
            let mut list = Vec::new();
            if app.id <= 3 {
                for (n, s) in BUILD_PARAMS {
                    list.push((n.to_string(), *s));
                }
            }
            let want = 6 + rng.usize(..7); // 6..=12
            let mut pool: Vec<&(&str, bool)> = OTHER_PARAMS.iter().collect();
            rng.shuffle(&mut pool);
            for (n, s) in pool {
                if list.len() >= want {
                    break;
                }
                list.push((n.to_string(), *s));
            }
            let list: Vec<Param> = list
                .into_iter()
                .map(|(name, secret)| {
                    let value = if secret {
                        format!("s3cr3t-{}-{}", app.slug, hex(&mut rng, 16))
                    } else {
                        plain_value(&name, app)
                    };
                    Param {
                        name,
                        value: Some(value),
                        secret,
                    }
                })
                .collect();
            params.insert(app.id, list);
        }
        // Two parameters with `value: null` (§9 #11): one plain, one secret.
        if let Some(p) = params
            .get_mut(&4)
            .and_then(|l| l.iter_mut().find(|p| !p.secret))
        {
            p.value = None;
        }
        if let Some(p) = params
            .get_mut(&5)
            .and_then(|l| l.iter_mut().find(|p| p.secret))
        {
            p.value = None;
        }

        // 140 builds over the 14 days before start; ids in creation order.
        let mut builds = BTreeMap::new();
        let mut assets = BTreeMap::new();
        let mut next_asset = 801;
        let span = 14 * 24 * 3600 * NS_PER_SEC;
        let mut times: Vec<i64> = (0..140).map(|_| start - 1 - rng.i64(0..span)).collect();
        times.sort_unstable();
        // The five most recent are still running or pending: an external CI is at work.
        let n = times.len();
        for (i, created) in times.into_iter().enumerate() {
            let id = 5001 + i as i64;
            let app = loop {
                let a = &apps[rng.usize(..22)];
                // inactive apps only have old builds
                if a.status == "active" || i < n / 2 {
                    break a;
                }
            };
            let recent = i >= n - 5;
            let (status, dur) = if recent {
                let s = if i % 2 == 0 { "in_progress" } else { "pending" };
                (s, 0)
            } else if rng.u8(..5) == 0 {
                ("failed", rng.i64(30..900) * NS_PER_SEC)
            } else {
                ("successful", rng.i64(60..1200) * NS_PER_SEC)
            };
            // Ids follow creation time: the recent ones within the last ten minutes before
            // start, every other one earlier.
            let created = if recent {
                start - (n - i) as i64 * 97 * NS_PER_SEC
            } else {
                created.min(start - 600 * NS_PER_SEC)
            };
            let sha = hex(&mut rng, 40);
            let b = BuildRec {
                id,
                app_id: app.id,
                status: status.to_string(),
                branch: BRANCHES[rng.usize(..BRANCHES.len())].to_string(),
                permalink: Some(format!("{}/commit/{sha}", app.repository_url)),
                commit_id: sha.clone(),
                description: Some(MESSAGES[rng.usize(..MESSAGES.len())].to_string()),
                created,
                updated: (created + dur).min(start),
            };
            if status == "successful" {
                let kind = if app.id % 5 == 0 {
                    "lambda"
                } else {
                    "docker-image"
                };
                assets.insert(
                    next_asset,
                    AssetRec {
                        id: next_asset,
                        build_id: id,
                        name: "main".into(),
                        kind: kind.into(),
                        metadata: json!({}),
                        targets: targets_for(kind, None, &app.slug, &sha),
                    },
                );
                next_asset += 1;
            }
            builds.insert(id, b);
        }

        let elapsed = (now - start).max(0);
        NpState {
            apps,
            params,
            builds,
            assets,
            tokens: HashMap::new(),
            token_rng: rng_for(seed, "nullplatform-tokens"),
            next_build: 5001 + n as i64,
            next_asset,
            demo,
            next_demo: start + (elapsed / DEMO_EVERY_NS + 1) * DEMO_EVERY_NS,
            demo_rng: rng_for(seed, "nullplatform-demo"),
            runs: Vec::new(),
        }
    }

    pub fn app(&self, id: i64) -> Option<&App> {
        self.apps.iter().find(|a| a.id == id)
    }

    /// A new opaque 48-character token (§9 #2).
    pub(crate) fn issue_token(&mut self, now: i64, ttl_ns: i64) -> String {
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let tail: String = (0..43)
            .map(|_| char::from(ALNUM[self.token_rng.usize(..ALNUM.len())]))
            .collect();
        let token = format!("npat_{tail}");
        self.tokens.insert(token.clone(), (now, now + ttl_ns));
        token
    }

    pub(crate) fn has_asset(&self, build_id: i64) -> bool {
        self.assets.values().any(|a| a.build_id == build_id)
    }

    pub(crate) fn create_build(&mut self, b: BuildRec) -> i64 {
        let id = self.next_build;
        self.next_build += 1;
        self.builds.insert(id, BuildRec { id, ..b });
        id
    }

    pub(crate) fn add_asset(
        &mut self,
        build_id: i64,
        name: String,
        kind: String,
        metadata: Value,
        url: Option<&str>,
    ) -> Option<&AssetRec> {
        let b = self.builds.get(&build_id)?;
        let slug = self
            .app(b.app_id)
            .map(|a| a.slug.clone())
            .unwrap_or_default();
        let targets = targets_for(&kind, url, &slug, &b.commit_id);
        let id = self.next_asset;
        self.next_asset += 1;
        self.assets.insert(
            id,
            AssetRec {
                id,
                build_id,
                name,
                kind,
                metadata,
                targets,
            },
        );
        self.assets.get(&id)
    }

    /// Applies the demo's external-CI activity up to `now` (no-op unless demo).
    pub fn advance(&mut self, now: i64) {
        if !self.demo {
            return;
        }
        while self.next_demo <= now {
            let t0 = self.next_demo;
            self.next_demo += DEMO_EVERY_NS;
            let active: Vec<(i64, String)> = self
                .apps
                .iter()
                .filter(|a| a.status == "active")
                .map(|a| (a.id, a.repository_url.clone()))
                .collect();
            if active.is_empty() {
                continue;
            }
            let (app_id, repo) = active[self.demo_rng.usize(..active.len())].clone();
            let sha = hex(&mut self.demo_rng, 40);
            let fails = self.demo_rng.u8(..5) == 0;
            let msg = MESSAGES[self.demo_rng.usize(..MESSAGES.len())];
            let id = self.create_build(BuildRec {
                id: 0,
                app_id,
                status: "pending".into(),
                branch: "main".into(),
                permalink: Some(format!("{repo}/commit/{sha}")),
                commit_id: sha,
                description: Some(msg.to_string()),
                created: t0,
                updated: t0,
            });
            self.runs.push(DemoRun {
                build_id: id,
                t0,
                fails,
                step: 0,
            });
        }
        let mut runs = std::mem::take(&mut self.runs);
        for r in &mut runs {
            let steps = [2, 10, 15];
            while (r.step as usize) < steps.len()
                && r.t0 + steps[r.step as usize] * NS_PER_SEC <= now
            {
                let at = r.t0 + steps[r.step as usize] * NS_PER_SEC;
                let Some(b) = self.builds.get_mut(&r.build_id) else {
                    r.step = 3;
                    break;
                };
                match r.step {
                    0 if b.status == "pending" => {
                        b.status = "in_progress".into();
                        b.updated = at;
                    }
                    1 if !r.fails && !b.is_terminal() => {
                        let _ = self.add_asset(
                            r.build_id,
                            "main".into(),
                            "docker-image".into(),
                            json!({}),
                            None,
                        );
                    }
                    2 if !b.is_terminal() => {
                        let ok = !r.fails && self.has_asset(r.build_id);
                        if let Some(b) = self.builds.get_mut(&r.build_id) {
                            b.status = if ok { "successful" } else { "failed" }.into();
                            b.updated = at;
                        }
                    }
                    _ => {}
                }
                r.step += 1;
            }
        }
        runs.retain(|r| r.step < 3);
        self.runs = runs;
    }
}

fn plain_value(name: &str, app: &App) -> String {
    match name {
        "LOG_LEVEL" => "info".into(),
        "REDIS_URL" => format!("redis://redis.{}.internal:6379/0", app.slug),
        "PORT" => "8080".into(),
        "FEATURE_FLAGS_URL" => format!("https://flags.acme.example/{}", app.slug),
        "NODE_ENV" => "production".into(),
        "CACHE_TTL" => "300".into(),
        "TZ" => "UTC".into(),
        "OTEL_EXPORTER_OTLP_ENDPOINT" => "http://otel-collector:4318".into(),
        "JAVA_OPTS" => "-Xmx512m".into(),
        "BUILD_AWS_REGION" => "us-east-1".into(),
        "BUILD_AZURE_REGISTRY_LOGIN_SERVER" => "acme.azurecr.io".into(),
        "BUILD_AZURE_REGISTRY_USERNAME" => "acme-ci".into(),
        "BUILD_DOCKER_REGISTRY_SERVER" => "registry.acme.example".into(),
        "BUILD_DOCKER_REGISTRY_USERNAME" => "ci-bot".into(),
        _ => format!("{}-value", name.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_follow_the_decisions() {
        let st = NpState::new(1, 0, 0, false);
        assert_eq!(st.apps.len(), 24);
        let count = |s: &str| st.apps.iter().filter(|a| a.status == s).count();
        assert_eq!(
            (
                count("active"),
                count("inactive"),
                count("creating"),
                count("failed")
            ),
            (20, 2, 1, 1)
        );
        let all: Vec<&Param> = st.params.values().flatten().collect();
        for (id, list) in &st.params {
            assert!((6..=12).contains(&list.len()), "app {id}: {}", list.len());
        }
        for id in 1..=3 {
            for (n, _) in BUILD_PARAMS {
                assert!(st.params[&id].iter().any(|p| p.name == *n), "{id} {n}");
            }
        }
        assert_eq!(all.iter().filter(|p| p.value.is_none()).count(), 2);
        let secret = all.iter().filter(|p| p.secret).count() as f64 / all.len() as f64;
        assert!((0.2..0.45).contains(&secret), "{secret}");
        assert_eq!(st.builds.len(), 140);
        for b in st.builds.values() {
            if b.status == "successful" {
                assert_eq!(st.assets.values().filter(|a| a.build_id == b.id).count(), 1);
            }
        }
        assert_eq!(
            fmt_ms(1_767_261_600 * NS_PER_SEC),
            "2026-01-01T10:00:00.000Z"
        );
    }
}
