//! End-to-end tests of the real binary in a pseudo-terminal against each non-Free-Commit
//! backend: the simulator (manual clock) behind a recording proxy, a config pointing at the
//! proxy, then log in, list, open a log where the backend has logs, and one change through its
//! confirmation ("n" sends nothing, "y" sends exactly one request). No fixed sleeps: the
//! emulated screen (vt100) is polled with a deadline.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pty::Tui;

/// The simulator on a manual clock behind a recording proxy, and the dashboard pointed at it.
struct Rig {
    _rt: tokio::runtime::Runtime,
    _sim: shipdeck::sim::SimHandle,
    proxy: common::Proxy,
    tui: Tui,
}

impl Rig {
    /// Start the simulator and the recording proxy (cookies pass, for Candor's session), write
    /// the 0600 config `config(proxy)`, run the binary.
    fn start(config: impl FnOnce(&common::Proxy) -> String) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = rt.block_on(common::start_sim(""));
        let proxy = rt.block_on(common::start_proxy(&sim));
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("config.toml");
        std::fs::write(&path, config(&proxy)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = path.to_string_lossy().into_owned();
        let tui = Tui::spawn_in(home, &["--config", &config], 120, 36);
        Rig {
            _rt: rt,
            _sim: sim,
            proxy,
            tui,
        }
    }

    /// `METHOD` requests to any path starting with `prefix` (ids in paths, such as trigger
    /// tokens, are not known up front; `Proxy::calls` wants the exact path).
    fn calls_under(&self, method: &str, prefix: &str) -> usize {
        self.proxy
            .paths()
            .iter()
            .filter(|p| p.starts_with(prefix))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|p| self.proxy.calls(&format!("{method} {p}")))
            .sum()
    }
}

/// One profile named `name` as TOML, `refresh_secs = 1` so the panes notice changes quickly.
fn config(name: &str, body: &str) -> String {
    format!("default_profile = \"{name}\"\nrefresh_secs = 1\n\n[profiles.{name}]\n{body}")
}

#[test]
fn aviator_list_releases_and_promote() {
    let mut r = Rig::start(|p| {
        let projects: String = shipdeck::sim::aviator::CATALOG
            .iter()
            .map(|c| {
                let envs: Vec<&str> = c.environments.iter().map(|e| e.name).collect();
                format!("  {{ name = {:?}, environments = {envs:?} }},\n", c.name)
            })
            .collect();
        config(
            "av",
            &format!(
                "kind = \"aviator\"\nurl = \"{}\"\ntoken = \"{}\"\nprotected_environments = [\"production\"]\nprojects = [\n{projects}]\n",
                p.url("aviator"),
                shipdeck::sim::aviator::TOKEN_ALICE
            ),
        )
    });
    let t = &mut r.tui;
    t.wait_for("● online");
    t.wait("the release projects", |s| {
        s.contains("payments-api") && s.contains("web-frontend")
    });
    // Aviator has no builds: no logs to open. Its pipeline instead.
    t.send("5");
    t.wait_for("Deployments to staging");
    // Every box of the pipeline answered (the history below has "success" rows too).
    t.wait("the pipeline", |s| {
        s.lines().any(|l| l.matches("✔ success").count() >= 3)
    });
    let deploys = |r: &Rig| {
        r.proxy
            .calls("POST /aviator/api/releases/payments-api/environments/canary/deployments")
    };
    // staging → canary, where canary already runs the same candidate: nothing would change,
    // so nothing is asked and nothing is sent.
    r.tui.send("P");
    r.tui
        .wait_for("canary already runs 2025.12.28-rc1: nothing to promote");
    assert_eq!(deploys(&r), 0, "{:?}", r.proxy.paths());
    // A chosen older candidate on canary: "n" sends nothing.
    r.tui.send("l");
    r.tui.wait_for("Deployments to canary");
    let deploy = |r: &mut Rig| {
        // Picked from the candidates the server listed, found by typing: never typed blind.
        r.tui.send("D");
        r.tui.wait_for("which candidate");
        r.tui.send("2025.12.25-rc2");
        r.tui.wait_for("›2025.12.25-rc2");
        r.tui.send("\r");
        r.tui
            .wait_for("Deploy 2025.12.25-rc2 to canary of payments-api");
    };
    deploy(&mut r);
    r.tui.send("n");
    r.tui.wait_for("cancelled: nothing was sent");
    assert_eq!(deploys(&r), 0, "{:?}", r.proxy.paths());
    // "y" sends exactly one.
    deploy(&mut r);
    r.tui.send("y");
    r.tui.wait_for("following");
    assert_eq!(deploys(&r), 1, "{:?}", r.proxy.paths());
    r.tui.quit();
    assert_eq!(deploys(&r), 1, "no second request: {:?}", r.proxy.paths());
}

#[test]
fn serverless_cd_list_log_and_redeploy() {
    let mut r = Rig::start(|p| {
        config(
            "scd",
            &format!(
                "kind = \"serverless-cd\"\nurl = \"{}\"\nroute_prefix = \"{}\"\ntoken = \"{}\"\n",
                p.url("serverless-cd"),
                shipdeck::sim::serverless_cd::ROUTE_PREFIX,
                shipdeck::sim::serverless_cd::DEMO_TOKEN
            ),
        )
    });
    let t = &mut r.tui;
    t.wait_for("● online");
    t.wait("the applications", |s| {
        s.contains("shop-api") && s.contains("legacy-cron")
    });
    // The queue is empty on a manual clock: Enter on shop-api shows its history.
    t.send("4");
    t.wait_for("no builds");
    t.send("1");
    t.wait_for("Projects · 13");
    t.send("g\r");
    t.wait_for("Builds of shop-api · 37");
    // The newest task's log.
    t.send("g\r");
    t.wait_for("✔ shop-api deployed (fc.");
    t.wait_for("notification sent (task success)");
    t.send("\x1b");
    t.wait_for("Builds of shop-api");
    // Redeploy (Serverless-cd's rollback) of the newest task: "n" sends nothing, "y" one.
    let redeploys = |r: &Rig| {
        r.proxy
            .calls("POST /serverless-cd/api/flow/dispatch/redeploy")
    };
    r.tui.send("R");
    r.tui.wait_for("of shop-api again, as it was");
    r.tui.send("n");
    r.tui.wait_for("cancelled: nothing was sent");
    assert_eq!(redeploys(&r), 0, "{:?}", r.proxy.paths());
    r.tui.send("R");
    r.tui.wait_for("of shop-api again, as it was");
    r.tui.send("y");
    r.tui.wait("the new run's toast", |s| {
        s.contains(": run ") && s.contains(" queued")
    });
    assert_eq!(redeploys(&r), 1, "{:?}", r.proxy.paths());
    r.tui.quit();
    assert_eq!(redeploys(&r), 1, "{:?}", r.proxy.paths());
}

#[test]
fn nullplatform_list_builds_and_report_a_status() {
    let mut r = Rig::start(|p| {
        config(
            "np",
            &format!(
                "kind = \"nullplatform\"\nurl = \"{}\"\napi_key = \"np-demo-key\"\n",
                p.url("nullplatform")
            ),
        )
    });
    let t = &mut r.tui;
    t.wait_for("● online");
    t.wait("the applications", |s| {
        s.contains("payments") && s.contains("checkout")
    });
    // nullplatform has no build logs: the queue is what there is to see.
    t.send("4");
    t.wait("the queue", |s| {
        s.contains("Builds · queued and running · 5") && s.contains("auth-service")
    });
    // Report the newest queued build as failed (an external CI's report): "n" sends nothing,
    // "y" exactly one `PATCH /build/{id}`.
    let reports = |r: &Rig| r.calls_under("PATCH", "/nullplatform/build/");
    for answer in ["n", "y"] {
        r.tui.send("gT");
        r.tui.wait_for("status (in_progress|failed|successful)");
        // The field holds the first status; replace it.
        r.tui.send(&"\x7f".repeat("in_progress".len()));
        r.tui.send("failed\r");
        r.tui.wait_for("Report build 5140 of billing as failed");
        r.tui.send(answer);
        if answer == "n" {
            r.tui.wait_for("cancelled: nothing was sent");
            assert_eq!(reports(&r), 0, "{:?}", r.proxy.paths());
        }
    }
    r.tui.wait_for("build 5140 reported failed");
    assert_eq!(reports(&r), 1, "{:?}", r.proxy.paths());
    assert_eq!(r.proxy.calls("PATCH /nullplatform/build/5140"), 1);
    r.tui.quit();
    assert_eq!(reports(&r), 1, "{:?}", r.proxy.paths());
}

#[test]
fn candor_list_log_and_trigger() {
    let mut r = Rig::start(|p| {
        config(
            "cd",
            &format!(
                "kind = \"candor\"\nurl = \"{}\"\nusername = \"demouser\"\npassword = \"demouser\"\nrunner_url = \"{}\"\nrunner_token = \"{}\"\n",
                p.url("candor"),
                p.url("candor-runner"),
                shipdeck::sim::candor::RUNNER_TOKEN
            ),
        )
    });
    let t = &mut r.tui;
    t.wait_for("● online");
    t.wait("the pipelines", |s| {
        s.contains("lint") && s.contains("stage 2/3 failed")
    });
    // The queue is empty on a manual clock: Enter on lint shows its runs, Enter opens a log.
    t.send("4");
    t.wait_for("no builds");
    t.send("1");
    t.wait_for("Projects · 7");
    t.send("g\r");
    t.wait_for("Builds of lint · 5");
    t.send("g\r");
    t.wait_for("$ npm run lint");
    t.wait_for("Process exited with status code 0");
    t.send("\x1b");
    t.wait_for("Builds of lint");
    // Trigger web-build (demouser is one of its assignees): "n" sends nothing, "y" one.
    t.send("1");
    t.wait_for("Projects · 7");
    t.send("gj");
    let triggers = |r: &Rig| r.calls_under("POST", "/candor/trigger/");
    for answer in ["n", "y"] {
        r.tui.send("L");
        // The trigger form asks for parameters (none needed here).
        r.tui.wait_for("launch a build of web-build");
        r.tui.send("\r");
        r.tui.wait_for("Start a build of web-build");
        r.tui.send(answer);
        if answer == "n" {
            r.tui.wait_for("cancelled: nothing was sent");
            assert_eq!(triggers(&r), 0, "{:?}", r.proxy.paths());
        }
    }
    r.tui.wait("the new run's toast", |s| {
        s.contains(": run ") && s.contains(" queued")
    });
    assert_eq!(triggers(&r), 1, "{:?}", r.proxy.paths());
    r.tui.quit();
    assert_eq!(triggers(&r), 1, "{:?}", r.proxy.paths());
}
