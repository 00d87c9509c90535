//! The watch list on disk: one small JSON file per profile in the state directory
//! (`<state dir>/watch/<profile>.json`), written whole to a temporary file and renamed, so a
//! crash never leaves half a list. Reading is tolerant: a row that does not decode is skipped
//! (and logged), the others are kept.

use super::Watched;
use std::path::{Path, PathBuf};

fn file(dir: &Path, profile: &str) -> PathBuf {
    dir.join(format!("{}.json", crate::domain::file_name_safe(profile)))
}

/// Write a profile's list (an empty list removes the file).
pub fn save(dir: &Path, profile: &str, items: &[Watched]) -> std::io::Result<()> {
    let path = file(dir, profile);
    if items.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(items).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&tmp, &path)
}

/// Read the lists of these profiles (missing files are empty lists). Items of a profile are
/// kept under that profile whatever the file says.
pub fn load(dir: &Path, profiles: &[String]) -> Vec<Watched> {
    let mut out = Vec::new();
    for profile in profiles {
        let Ok(bytes) = std::fs::read(file(dir, profile)) else {
            continue;
        };
        let rows: Vec<serde_json::Value> = match serde_json::from_slice(&bytes) {
            Ok(serde_json::Value::Array(rows)) => rows,
            Ok(_) | Err(_) => {
                tracing::warn!(profile = %profile, "watch list file unreadable; starting empty");
                continue;
            }
        };
        for row in rows {
            match serde_json::from_value::<Watched>(row) {
                Ok(mut w) => {
                    w.profile = profile.clone();
                    out.push(w);
                }
                Err(e) => tracing::warn!(profile = %profile, error = %e, "watch list row skipped"),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::watch::WatchKind;
    use crate::domain::BuildStatus;

    fn item(profile: &str, id: &str) -> Watched {
        Watched {
            profile: profile.into(),
            kind: WatchKind::Build,
            id: id.into(),
            run_id: Some(id.into()),
            build_id: None,
            project_id: None,
            project: "web".into(),
            environment: None,
            title: format!("web {id}"),
            status: BuildStatus::Running,
            raw_status: "running".into(),
            started_at: None,
            message: None,
            baseline: None,
            misses: 0,
            lost: false,
        }
    }

    #[test]
    fn lists_round_trip_per_profile_and_odd_rows_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), "ci", &[item("ci", "a"), item("ci", "b")]).unwrap();
        save(dir.path(), "prod/eu", &[item("prod/eu", "c")]).unwrap();
        let back = load(dir.path(), &["ci".into(), "prod/eu".into(), "none".into()]);
        assert_eq!(
            back,
            vec![item("ci", "a"), item("ci", "b"), item("prod/eu", "c")]
        );
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| n.ends_with(".json")), "{names:?}");
        // One odd row, an unknown kind and unknown fields: the rest survive.
        std::fs::write(
            dir.path().join("ci.json"),
            r#"[{"kind": 3}, {"profile": "x", "kind": "pipeline", "id": "z", "extra": 1},
               {"profile": "ci", "kind": "build", "id": "ok", "status": "queued"}]"#,
        )
        .unwrap();
        let back = load(dir.path(), &["ci".into()]);
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].kind, WatchKind::Unknown);
        assert_eq!(back[0].profile, "ci");
        assert_eq!(back[1].status, BuildStatus::Queued);
        // An empty list removes the file.
        save(dir.path(), "ci", &[]).unwrap();
        assert!(load(dir.path(), &["ci".into()]).is_empty());
    }
}
