//! The Overview pane: every configured profile at once — failing work, running and queued
//! work, pending promotions — each line a way into its profile. Generic over `Backend`: it asks
//! each profile only what its capabilities offer.

use crate::api::Backend;
use crate::domain::{BuildStatus, Kind, ListQuery, Resource, Row};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// At most this many lines of one kind per profile: the overview points, the panes detail.
const PER_KIND: usize = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Failing,
    Running,
    Queued,
    Pending,
    /// The profile could not be asked (login failed, unreachable…).
    Problem,
}

impl ItemKind {
    pub fn status(self) -> BuildStatus {
        match self {
            ItemKind::Failing | ItemKind::Problem => BuildStatus::Failed,
            ItemKind::Running | ItemKind::Pending => BuildStatus::Running,
            ItemKind::Queued => BuildStatus::Queued,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            ItemKind::Failing => "failing",
            ItemKind::Running => "running",
            ItemKind::Queued => "queued",
            ItemKind::Pending => "promoting",
            ItemKind::Problem => "unreachable",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverviewItem {
    /// Row key: profile + kind + subject.
    pub key: String,
    pub profile: String,
    pub backend: Kind,
    pub what: ItemKind,
    pub title: String,
    pub detail: String,
    /// The pane Enter opens in that profile.
    pub pane: Resource,
    /// The row of that pane it is about (a build's or a project's id), selected on Enter.
    pub target: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// The project (release project) the line is about, for watching it (`w`) and links.
    pub project: String,
    /// A release environment, for a deployment line.
    pub environment: Option<String>,
}

impl Row for OverviewItem {
    fn id(&self) -> &str {
        &self.key
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.profile,
            self.what.label(),
            self.title,
            self.detail
        )
    }
    fn display_name(&self) -> &str {
        &self.title
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        self.at
    }
}

fn item(
    profile: &str,
    backend: Kind,
    what: ItemKind,
    title: String,
    detail: String,
    (pane, target): (Resource, Option<String>),
    at: Option<DateTime<Utc>>,
) -> OverviewItem {
    OverviewItem {
        key: format!("{profile}/{}/{title}", what.label()),
        profile: profile.to_string(),
        backend,
        what,
        title,
        detail,
        pane,
        target,
        at,
        project: String::new(),
        environment: None,
    }
}

/// Everything worth a look in one profile. Never fails: a problem becomes a line.
pub async fn collect(profile: &str, b: &dyn Backend) -> Vec<OverviewItem> {
    let kind = b.kind();
    let session = match b.login().await {
        Ok(s) => s,
        Err(e) => {
            return vec![item(
                profile,
                kind,
                ItemKind::Problem,
                profile.to_string(),
                crate::api::errors::cap_message(&e.to_string()).into_owned(),
                (Resource::Projects, None),
                None,
            )];
        }
    };
    let caps = session.caps;
    let mut out = Vec::new();
    if caps.builds.list
        && let Ok(builds) = b.builds(&crate::domain::BuildScope::Active).await
    {
        for (what, status) in [
            (ItemKind::Running, BuildStatus::Running),
            (ItemKind::Queued, BuildStatus::Queued),
        ] {
            out.extend(
                builds
                    .iter()
                    .filter(|x| x.status == status)
                    .take(PER_KIND)
                    .map(|x| OverviewItem {
                        project: x.project.clone(),
                        ..item(
                            profile,
                            kind,
                            what,
                            format!("{} {}", x.project, crate::app::state::short_id(&x.id)),
                            x.raw_status.clone(),
                            (Resource::Builds, Some(x.id.clone())),
                            x.started_at.or(x.queued_at),
                        )
                    }),
            );
        }
    }
    if caps.list(Resource::Projects).is_some() {
        let q = ListQuery {
            page: 1,
            per_page: 100,
            filter: None,
            sort: None,
        };
        if let Ok(page) = b.projects(&q).await {
            out.extend(
                page.items
                    .iter()
                    .filter_map(|p| {
                        p.last_build
                            .as_ref()
                            .filter(|l| l.status == BuildStatus::Failed)
                            .map(|l| (p, l))
                    })
                    .take(PER_KIND)
                    .map(|(p, l)| {
                        let why = l.message.clone().unwrap_or_else(|| l.raw.clone());
                        let line = item(
                            profile,
                            kind,
                            ItemKind::Failing,
                            p.name.clone(),
                            why,
                            (Resource::Projects, Some(p.id.clone())),
                            l.at,
                        );
                        OverviewItem {
                            project: p.name.clone(),
                            ..line
                        }
                    }),
            );
        }
    }
    if caps.releases.list
        && let Ok(envs) = b.environments().await
    {
        for env in envs.iter().take(30) {
            let Ok(page) = b.deployments(&env.project, &env.name, 1, 5).await else {
                continue;
            };
            let Some(d) = page.items.first() else {
                continue;
            };
            let what = match d.status {
                BuildStatus::Queued | BuildStatus::Running => ItemKind::Pending,
                BuildStatus::Failed => ItemKind::Failing,
                _ => continue,
            };
            out.push(OverviewItem {
                project: env.project.clone(),
                environment: Some(env.name.clone()),
                ..item(
                    profile,
                    kind,
                    what,
                    format!("{}/{} {}", env.project, env.name, d.candidate),
                    d.error.clone().unwrap_or_else(|| d.raw_status.clone()),
                    (Resource::Releases, Some(d.id.clone())),
                    d.started_at,
                )
            });
        }
    }
    out
}

/// A profile that could not be asked, as a line.
pub fn problem(profile: &str, backend: Kind, why: &str) -> OverviewItem {
    item(
        profile,
        backend,
        ItemKind::Problem,
        profile.to_string(),
        why.to_string(),
        (Resource::Projects, None),
        None,
    )
}

/// Order of the kinds on screen.
pub(crate) fn rank(k: ItemKind) -> u8 {
    match k {
        ItemKind::Problem => 0,
        ItemKind::Failing => 1,
        ItemKind::Running => 2,
        ItemKind::Pending => 3,
        ItemKind::Queued => 4,
    }
}
