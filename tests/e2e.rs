//! End-to-end tests of the real binary in a pseudo-terminal: keys in, the emulated screen
//! (vt100) polled with a deadline. No fixed sleeps.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::pty::{DEADLINE, Tui};

#[test]
fn demo_browse_filter_switch_profile_and_quit() {
    let mut t = Tui::spawn(&["demo"], 100, 30);
    t.wait_for("● online");
    t.wait_for(" of 47 ");
    t.wait_for("search-indexer");
    // Palette to the secrets pane.
    t.send(":secrets\r");
    t.wait_for("DATABASE_URL");
    t.wait_for("Secrets · 12");
    assert!(
        !t.screen().contains("sim-"),
        "a secret value reached the screen:\n{}",
        t.screen()
    );
    // Server-side filter.
    t.send("/STRIPE\r");
    t.wait("the filtered list", |s| {
        s.contains("STRIPE_API_KEY") && !s.contains("DATABASE_URL")
    });
    t.wait_for("filter “STRIPE” (server)");
    t.send("\x1b");
    t.wait_for("DATABASE_URL");
    // Switch to the read-only profile: its badge and its user show.
    t.send(":profile demo-freecommit-alice\r");
    t.wait("alice's session", |s| {
        s.contains("READ-ONLY") && s.contains("│ alice")
    });
    t.wait_for("search-indexer");
    t.send("q");
    let (code, _) = t.wait_exit(Duration::from_secs(5));
    assert_eq!(code, 0);
    t.wait_restored();
}

#[test]
fn sighup_ends_the_dashboard_within_a_second() {
    let mut t = Tui::spawn(&["demo"], 80, 24);
    t.wait_for("● online");
    let pid = t.child.process_id().expect("pid");
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let (_, took) = t.wait_exit(Duration::from_secs(3));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    t.wait_restored();
}

#[test]
fn first_run_explains_the_config_and_offers_the_demo() {
    let mut t = Tui::spawn(&[], 100, 40);
    t.wait_for("Welcome to shipdeck");
    t.wait_for("shipdeck/config.toml");
    t.send("d");
    t.wait_for("● online");
    t.wait_for("search-indexer");
    t.send("\x03"); // Ctrl-c quits from anywhere
    let (code, _) = t.wait_exit(Duration::from_secs(5));
    assert_eq!(code, 0);
}

#[test]
fn help_is_generated_from_the_keymap() {
    let mut t = Tui::spawn(&["demo"], 100, 40);
    t.wait_for("● online");
    t.send("?");
    t.wait_for("half a page down");
    t.send("\x1b");
    t.wait("help closed", |s| !s.contains("half a page down"));
    t.send("q");
    t.wait_exit(Duration::from_secs(5));
}

const READ_ONLY_PROFILE: &str = "\n[profiles.ci-ro]\nkind = \"freecommit\"\nurl = \"URL\"\nusername = \"admin\"\npassword = \"admin\"\nread_only = true\n";

/// The simulator on a manual clock behind a recording proxy, and the dashboard pointed at it.
struct Rig {
    rt: tokio::runtime::Runtime,
    sim: shipdeck::sim::SimHandle,
    proxy: common::Proxy,
    tui: Tui,
}

impl Rig {
    /// Config for the Aviator simulator behind the proxy: one read-write profile and the same
    /// token read-only; production protected.
    fn aviator() -> Rig {
        Rig::start_with(|url| {
            let url = url.replace("/freecommit", "/aviator");
            let projects = r#"projects = [ { name = "payments-api", environments = ["staging", "canary", "production"] } ]"#;
            format!(
                "default_profile = \"rel\"\nrefresh_secs = 1\n\n[profiles.rel]\nkind = \"aviator\"\nurl = \"{url}\"\ntoken = \"av_uat_demo_alice\"\nprotected_environments = [\"production\"]\n{projects}\n\n[profiles.rel-ro]\nkind = \"aviator\"\nurl = \"{url}\"\ntoken = \"av_uat_demo_alice\"\nread_only = true\n{projects}\n"
            )
        })
    }

    fn start(extra_profile: &str) -> Rig {
        let extra = extra_profile.to_string();
        Rig::start_with(move |url| {
            let extra_profile = extra.replace("URL", url);
            format!(
                "default_profile = \"ci\"\nrefresh_secs = 1\n\n[profiles.ci]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"admin\"\npassword = \"admin\"\n{extra_profile}"
            )
        })
    }

    /// Start the simulator and proxy, write the config `config(proxy_freecommit_url)`, run.
    fn start_with(config: impl FnOnce(&str) -> String) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = rt.block_on(common::start_sim(""));
        let proxy = rt.block_on(common::start_proxy(&sim));
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("config.toml");
        let text = config(&proxy.url("freecommit"));
        std::fs::write(&path, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = path.to_string_lossy().into_owned();
        let tui = Tui::spawn_in(home, &["--config", &config], 120, 36);
        Rig {
            rt,
            sim,
            proxy,
            tui,
        }
    }

    /// Move the simulator's clock (builds start, logs grow, runs finish).
    fn advance(&self, seconds: f64) {
        self.rt.block_on(common::advance(&self.sim, seconds));
    }

    /// Advance the clock a step at a time until the screen shows `needle`. Each step is small
    /// and followed by a pause long enough for the dashboard's next poll, so no state is skipped.
    fn advance_until(&self, needle: &str, step: f64) {
        let start = Instant::now();
        while !self.tui.screen().contains(needle) {
            assert!(
                start.elapsed() < DEADLINE,
                "never saw {needle}; screen:\n{}\nrequests: {:?}",
                self.tui.screen(),
                self.proxy.paths().iter().rev().take(12).collect::<Vec<_>>()
            );
            self.advance(step);
            // Poll the screen while the dashboard catches up (its refresh is 1 s here).
            let until = Instant::now() + Duration::from_millis(1200);
            while Instant::now() < until && !self.tui.screen().contains(needle) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn launch_watch_search_and_kill_a_build() {
    let mut r = Rig::start("");
    r.tui.wait_for("● online");
    // Open billing-api's builds: filter the projects, Enter.
    r.tui.send("/billing-api\r");
    r.tui.wait_for("filter “billing-api” (server)");
    r.tui.send("\r");
    r.tui.wait_for("Builds of billing-api");
    // Launch: the form, the confirmation, then the run is queued at once.
    r.tui.send("L");
    r.tui.wait_for("ignore_steps:");
    r.tui.send(" \r");
    r.tui.wait_for("Start a build of billing-api");
    r.tui.wait_for("skipping @");
    r.tui.send("y");
    r.tui.wait_for("queued");
    assert_eq!(launches(&r.proxy), 1, "{:?}", r.proxy.paths());
    // It starts; open its log and watch it grow.
    r.advance_until("running", 3.0);
    r.tui.send("\r");
    r.tui.wait_for("● live");
    r.advance_until("Cloning into", 1.0);
    r.tui.send("/Cloning\r");
    r.tui.wait_for("/Cloning 1/1");
    r.tui.send("\x1b");
    r.tui.wait_for("Builds of billing-api");
    // A second run: kill asks first; "no" sends nothing, "yes" kills it.
    r.tui.send("L");
    r.tui.wait_for("ignore_steps:");
    r.tui.send("\ry");
    r.tui
        .wait("two runs", |s| s.matches("billing-api").count() >= 3);
    r.tui.send("gx");
    r.tui.wait_for("Kill run");
    r.tui.send("n");
    // The question closes (what it says is checked in tests/app.rs; here a refresh's own
    // message may replace it before the screen is read on a busy machine).
    r.tui
        .wait("the question closed", |s| !s.contains("Kill run"));
    assert_eq!(
        r.proxy.count_containing("/kill/"),
        0,
        "{:?}",
        r.proxy.paths()
    );
    r.tui.send("x");
    r.tui.wait_for("Kill run");
    r.tui.send("y");
    r.tui.wait_for("killed");
    assert_eq!(
        r.proxy.count_containing("/kill/"),
        1,
        "{:?}",
        r.proxy.paths()
    );
    r.tui.send("q");
    r.tui.wait_exit(Duration::from_secs(5));
}

/// Launch requests seen by the proxy: `POST /developer/builds/{projectId}` (the UI never GETs
/// that path; history is `/developer/builds/by/project/{id}`).
fn launches(p: &common::Proxy) -> usize {
    p.paths()
        .iter()
        .filter_map(|x| x.strip_prefix("/freecommit/developer/builds/"))
        .filter(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
        .count()
}

#[test]
fn read_only_refuses_a_launch_before_the_form_and_sends_nothing() {
    let mut r = Rig::start(READ_ONLY_PROFILE);
    r.tui.wait_for("● online");
    r.tui.send(":profile ci-ro\r");
    r.tui.wait("the read-only profile", |s| {
        s.contains("READ-ONLY") && s.contains("● online")
    });
    r.tui.send("/billing-api\r");
    r.tui.wait_for("filter “billing-api” (server)");
    // The footer shows launch as unavailable; the key is refused before any form opens.
    r.tui.send("L");
    r.tui.wait_for("refused: profile ci-ro is read-only");
    assert!(
        !r.tui.screen().contains("ignore_steps:"),
        "{}",
        r.tui.screen()
    );
    assert_eq!(launches(&r.proxy), 0, "{:?}", r.proxy.paths());
    // The refused attempt is in the audit trail.
    r.tui.send("6");
    r.tui.wait_for("refused");
    r.tui.send("q");
    r.tui.wait_exit(Duration::from_secs(5));
}

#[test]
fn a_restart_paints_the_last_seen_rows_before_any_reply() {
    let mut r = Rig::start("");
    r.tui.wait_for("● online");
    r.tui.wait_for("search-indexer");
    r.tui.send("q");
    r.tui.wait_exit(Duration::from_secs(5));
    // Same home (so the same cache), but now the server does not answer at all.
    let home = r.tui._home.take().expect("rig home");
    let config = home.path().join("offline.toml");
    std::fs::write(
        &config,
        "[profiles.ci]\nkind = \"freecommit\"\nurl = \"http://127.0.0.1:9/\"\nusername = \"admin\"\npassword = \"admin\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut t = Tui::spawn_at(
        home.path(),
        &["--config", config.to_str().unwrap()],
        120,
        36,
    );
    t.wait("cached rows while offline", |s| {
        s.contains("search-indexer") && s.contains("cache")
    });
    t.send("q");
    t.wait_exit(Duration::from_secs(5));
}

#[test]
fn promote_sends_exactly_one_request_cancel_and_wrong_names_send_none() {
    let mut r = Rig::aviator();
    r.tui.wait_for("● online");
    r.tui.send("5");
    r.tui.wait_for("Deployments to staging");
    r.tui
        // Every box of the pipeline answered (the history below has "success" rows too).
        .wait("the pipeline", |s| {
            s.lines().any(|l| l.matches("ago ·").count() >= 3)
        });
    let deploys = |r: &Rig, env: &str| {
        r.proxy.calls(&format!(
            "POST /aviator/api/releases/payments-api/environments/{env}/deployments"
        ))
    };
    // Every environment runs 2025.12.28-rc1: a promotion would change nothing, so it asks
    // nothing and sends nothing.
    r.tui.send("P");
    r.tui
        .wait_for("canary already runs 2025.12.28-rc1: nothing to promote");
    assert_eq!(deploys(&r, "canary"), 0);
    // A candidate picked from the list the server gave (never typed) on canary: cancel
    // sends nothing, yes sends one request.
    let deploy = |r: &mut Rig, candidate: &str| {
        r.tui.send("D");
        r.tui.wait_for("which candidate");
        // Typing finds it in the list (the cursor starts on what the previous env runs).
        r.tui.send(candidate);
        r.tui.wait_for(&format!("›{candidate}"));
        r.tui.send("\r");
    };
    r.tui.send("l");
    r.tui.wait_for("Deployments to canary");
    deploy(&mut r, "2025.12.25-rc2");
    r.tui.wait_for("canary: ");
    r.tui.send("n");
    r.tui.wait_for("cancelled: nothing was sent");
    assert_eq!(deploys(&r, "canary"), 0);
    deploy(&mut r, "2025.12.25-rc2");
    r.tui.wait_for("canary: ");
    r.tui.send("y");
    r.tui.wait_for("following");
    assert_eq!(deploys(&r, "canary"), 1, "{:?}", r.proxy.paths());
    // The deployment settles as the clock moves; the pane notices and says so.
    r.advance_until("success", 3.0);
    // production is protected: a wrong name sends nothing.
    r.tui.send("l");
    r.tui.wait_for("Deployments to production");
    deploy(&mut r, "2025.12.25-rc2");
    r.tui.wait_for("production is protected");
    r.tui.send("prod\r");
    r.tui.wait_for("type `production` exactly");
    assert_eq!(deploys(&r, "production"), 0);
    r.tui.send("\x1b");
    r.tui.wait_for("cancelled: nothing was sent");
    assert_eq!(deploys(&r, "production"), 0);
    // The audit pane shows the one change that was made.
    r.tui.send("6");
    r.tui.wait_for("payments-api/canary");
    // A read-only profile refuses before any form, and sends nothing.
    r.tui.send(":profile rel-ro\r");
    r.tui.wait("read-only profile online", |s| {
        s.contains("READ-ONLY") && s.contains("● online")
    });
    r.tui.send("5");
    r.tui.wait_for("Deployments to staging");
    r.tui
        // Every box of the pipeline answered (the history below has "success" rows too).
        .wait("the pipeline", |s| {
            s.lines().any(|l| l.matches("ago ·").count() >= 3)
        });
    r.tui.send("l");
    r.tui.wait_for("Deployments to canary");
    r.tui.send("D");
    r.tui.wait_for("refused: profile rel-ro is read-only");
    assert_eq!(
        deploys(&r, "canary"),
        1,
        "no second request: {:?}",
        r.proxy.paths()
    );
    r.tui.send("q");
    r.tui.wait_exit(Duration::from_secs(5));
}
