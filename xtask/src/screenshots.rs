//! `xtask screenshots [dir]`: README screenshots from real app states. The simulator runs
//! in-process on a manual clock, the real Free Commit client logs in, and the app's own
//! `update` and `ui::draw` produce the frames, which are rasterised to PNG.

use anyhow::Context as _;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shipdeck::api::{self, Backend};
use shipdeck::app::headless::{act, settle};
use shipdeck::app::{Action, Keymap, ProfileInfo, State, update};
use shipdeck::domain::Resource;
use shipdeck::ui::{self, Themes};
use std::path::Path;

const W: u16 = 120;
const H: u16 = 34;

pub fn run(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(shoot(dir))
}

fn frame(s: &State, themes: &Themes) -> anyhow::Result<ratatui::buffer::Buffer> {
    let mut term = Terminal::new(TestBackend::new(W, H))?;
    term.draw(|f| ui::draw(f, s, themes.get(s.theme_name())))?;
    Ok(term.backend().buffer().clone())
}

/// (project id, build id) of a build stopped by a failed step whose project passed before it.
async fn failed_with_green(b: &dyn Backend) -> Option<(String, String)> {
    use shipdeck::domain::{BuildScope, BuildStatus, ListQuery};
    let q = ListQuery {
        page: 1,
        per_page: 100,
        filter: None,
        sort: None,
    };
    for p in b.projects(&q).await.ok()?.items {
        let scope = BuildScope::Project {
            id: p.id.clone(),
            name: p.name.clone(),
        };
        let builds = b.builds(&scope).await.ok()?;
        if let Some(x) = builds.iter().find(|x| {
            x.status == BuildStatus::Failed
                && x.exit_code == Some(208)
                && shipdeck::logdiff::fetch::last_green(&builds, x).is_some()
        }) {
            return Some((p.id, x.id.clone()));
        }
    }
    None
}

async fn shoot(dir: &Path) -> anyhow::Result<()> {
    let sim = shipdeck::sim::start(shipdeck::sim::SimOptions::default()).await?;
    let cfg = shipdeck::demo::demo_config(&sim);
    let profiles: Vec<ProfileInfo> = cfg.profiles.iter().map(ProfileInfo::from_profile).collect();
    let themes = Themes::builtin();
    let mut s = State::new(profiles, Keymap::default());
    s.theme_names = themes.names();
    // "3h ago" columns are relative to the simulator's fixed manual-clock epoch.
    s.wall = chrono::DateTime::from_timestamp_nanos(shipdeck::sim::clock::MANUAL_EPOCH_NS);
    let backend = api::connect(&cfg.profiles[0])?;
    let b: &dyn Backend = backend.as_ref();
    let _ = update(&mut s, Action::Resize { cols: W, rows: H }, 0);
    act(&mut s, b, Action::SwitchProfile("demo-freecommit".into())).await;
    // Scroll a little so the selection is visible mid-list.
    for _ in 0..6 {
        act(&mut s, b, Action::Down).await;
    }
    s.toast = None;
    let mut shots = vec![("projects", frame(&s, &themes)?)];

    act(&mut s, b, Action::ShowPane(Resource::Secrets)).await;
    act(&mut s, b, Action::Down).await;
    shots.push(("secrets", frame(&s, &themes)?));

    act(&mut s, b, Action::ShowPane(Resource::Developers)).await;
    let fx = update(&mut s, Action::OpenPalette, 0);
    settle(&mut s, b, fx).await;
    for c in "pro".chars() {
        let key = crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        );
        act(&mut s, b, Action::Input(key)).await;
    }
    shots.push(("palette", frame(&s, &themes)?));

    // A project's builds, then the log of one with the step list open and a search.
    act(&mut s, b, Action::Back).await;
    s.overlay = shipdeck::app::state::Overlay::None;
    act(&mut s, b, Action::ShowPane(Resource::Projects)).await;
    act(&mut s, b, Action::Top).await;
    act(&mut s, b, Action::Open).await;
    s.toast = None;
    shots.push(("builds", frame(&s, &themes)?));
    act(&mut s, b, Action::Open).await;
    act(&mut s, b, Action::ToggleSteps).await;
    act(&mut s, b, Action::Top).await;
    if let Some(log) = s.log.as_mut() {
        log.set_search("PASS".into());
    }
    s.toast = None;
    shots.push(("log", frame(&s, &themes)?));

    // A failed build with a green one before it: its summary, then `d`.
    if let Some((project, build)) = failed_with_green(b).await {
        act(&mut s, b, Action::Back).await;
        act(&mut s, b, Action::ShowPane(Resource::Projects)).await;
        act(&mut s, b, Action::Top).await;
        for _ in 0..100 {
            if s.lists
                .projects
                .selected_row()
                .is_some_and(|p| p.id == project)
            {
                break;
            }
            act(&mut s, b, Action::Down).await;
        }
        act(&mut s, b, Action::Open).await;
        act(&mut s, b, Action::Top).await;
        for _ in 0..100 {
            if s.lists.builds.selected_row().is_some_and(|x| x.id == build) {
                break;
            }
            act(&mut s, b, Action::Down).await;
        }
        act(&mut s, b, Action::Open).await;
        s.toast = None;
        shots.push(("summary", frame(&s, &themes)?));
        act(&mut s, b, Action::ToggleDiff).await;
        s.toast = None;
        shots.push(("diff", frame(&s, &themes)?));
        act(&mut s, b, Action::Back).await;
        act(&mut s, b, Action::Back).await;
    }

    // Release promotion: the Aviator demo profile's pipeline and history.
    let av_profile = cfg
        .profiles
        .iter()
        .find(|p| p.name == "demo-aviator")
        .expect("demo-aviator");
    let av = api::connect(av_profile)?;
    let av: &dyn Backend = av.as_ref();
    act(&mut s, av, Action::SwitchProfile("demo-aviator".into())).await;
    act(&mut s, av, Action::ShowPane(Resource::Releases)).await;
    act(&mut s, av, Action::NextEnv).await;
    s.toast = None;
    shots.push(("releases", frame(&s, &themes)?));

    for (name, buf) in shots {
        let path = dir.join(format!("{name}.png"));
        xtask::buffer_to_png(&buf, &path, 1.0)?;
        println!("wrote {}", path.display());
    }
    sim.shutdown().await;
    Ok(())
}
