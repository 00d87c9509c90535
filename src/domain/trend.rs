//! A project's trend from its recent builds: results as a strip, durations, the success rate and
//! whether it looks flaky. Pure: built from data the backends already return.

use super::{Build, BuildStatus};

/// What the Projects column and the top of a project's history draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trend {
    /// Results, oldest first (the strip reads left to right like time).
    pub results: Vec<BuildStatus>,
    /// Durations in seconds of the finished builds, oldest first (`None`: not known).
    pub durations: Vec<Option<i64>>,
    /// Passed builds among the finished ones, in percent; `None` without a finished build.
    pub success_rate: Option<u8>,
    /// Results flip on the same commit, or flip back and forth without new commits to explain.
    pub flaky: bool,
}

/// Flips among the last builds (commits unknown) from which a project counts as flaky:
/// pass → fail → pass → fail is a pattern, one breakage and its fix is not.
const FLIPS_WITHOUT_COMMITS: usize = 3;

impl Trend {
    /// From builds newest first (as every backend lists them), at most `n` of them.
    pub fn of(builds: &[Build], n: usize) -> Trend {
        let recent: Vec<&Build> = builds.iter().take(n).collect();
        let results: Vec<BuildStatus> = recent.iter().rev().map(|b| b.status).collect();
        let durations = recent
            .iter()
            .rev()
            .map(|b| {
                let start = b.started_at.or(b.queued_at)?;
                let end = b.finished_at?;
                Some((end - start).num_seconds().max(0))
            })
            .collect();
        let finished: Vec<&&Build> = recent
            .iter()
            .filter(|b| matches!(b.status, BuildStatus::Succeeded | BuildStatus::Failed))
            .collect();
        let passed = finished
            .iter()
            .filter(|b| b.status == BuildStatus::Succeeded)
            .count();
        let success_rate = (!finished.is_empty())
            .then(|| u8::try_from(passed * 100 / finished.len()).unwrap_or(100));
        Trend {
            results,
            durations,
            success_rate,
            flaky: flaky(&finished),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
}

/// `finished` newest first, passed or failed only.
fn flaky(finished: &[&&Build]) -> bool {
    let same_commit_flip = finished.windows(2).any(|w| {
        w[0].status != w[1].status
            && matches!((&w[0].commit, &w[1].commit), (Some(a), Some(b)) if !a.is_empty() && a == b)
    });
    let commits_known = finished.iter().all(|b| b.commit.is_some());
    let flips = finished
        .windows(2)
        .filter(|w| w[0].status != w[1].status)
        .count();
    same_commit_flip || (!commits_known && flips >= FLIPS_WITHOUT_COMMITS)
}

/// Eight levels of a sparkline, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of `values` scaled between their minimum and maximum; unknown values are gaps.
pub fn sparkline(values: &[Option<i64>]) -> String {
    let known = values.iter().flatten();
    let (Some(lo), Some(hi)) = (known.clone().min(), known.max()) else {
        return " ".repeat(values.len());
    };
    let span = (hi - lo).max(1);
    values
        .iter()
        .map(|v| match v {
            Some(v) => {
                let level = ((v - lo) * (BARS.len() as i64 - 1) + span / 2) / span;
                BARS[usize::try_from(level).unwrap_or(0).min(BARS.len() - 1)]
            }
            None => ' ',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn b(status: BuildStatus, secs: i64, commit: Option<&str>) -> Build {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 10, 0, 0)
            .single()
            .unwrap_or_default();
        Build {
            status,
            started_at: Some(start),
            finished_at: Some(start + Duration::seconds(secs)),
            commit: commit.map(str::to_string),
            ..Build::default()
        }
    }

    use BuildStatus::{Failed as F, Running as R, Succeeded as S};

    #[test]
    fn strip_is_oldest_first_and_rate_counts_finished_builds() {
        // Newest first, as listed: running, failed, passed, passed.
        let builds = [
            b(R, 0, None),
            b(F, 30, None),
            b(S, 60, None),
            b(S, 90, None),
        ];
        let t = Trend::of(&builds, 10);
        assert_eq!(t.results, vec![S, S, F, R]);
        assert_eq!(t.success_rate, Some(66));
        assert_eq!(t.durations[0], Some(90));
        assert!(!t.flaky, "one breakage is not a pattern");
        assert_eq!(Trend::of(&builds, 2).results, vec![F, R]);
    }

    #[test]
    fn a_flip_on_the_same_commit_is_flaky_a_new_commit_is_not() {
        let same = [b(F, 1, Some("abc")), b(S, 1, Some("abc"))];
        assert!(Trend::of(&same, 10).flaky);
        let fixed = [b(S, 1, Some("def")), b(F, 1, Some("abc"))];
        assert!(!Trend::of(&fixed, 10).flaky);
    }

    #[test]
    fn alternating_without_commits_is_flaky() {
        let alt = [b(S, 1, None), b(F, 1, None), b(S, 1, None), b(F, 1, None)];
        assert!(Trend::of(&alt, 10).flaky);
        let once = [b(S, 1, None), b(F, 1, None), b(F, 1, None), b(F, 1, None)];
        assert!(!Trend::of(&once, 10).flaky);
    }

    #[test]
    fn sparkline_scales_between_min_and_max() {
        assert_eq!(sparkline(&[Some(10), Some(20), None, Some(30)]), "▁▅ █");
        assert_eq!(sparkline(&[Some(5), Some(5)]), "▁▁");
        assert_eq!(sparkline(&[None, None]), "  ");
    }
}
