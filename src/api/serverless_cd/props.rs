//! Property test of the tolerant decoding (issue 9): the Serverless-cd fixture JSON of both
//! eras, mutated (numbers → numeric strings, optional arrays → absent/null/[], unknown fields
//! added, unknown enum values), still decodes to every row with its id, name and counts.

use super::convert::{app_project, build_status, task_build};
use super::wire::{decode_applications, decode_task, decode_task_page};
use crate::domain::BuildStatus;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn apps_fixture() -> Value {
    let spec = json!({"github": {"events": [{"eventName": "push",
        "filter": "body.ref in [\"refs/heads/main\"]", "template": "serverless-pipeline.yaml"}],
        "secret": "whsec-demo"}});
    json!([
        {"id": "k3n9x0c2p7q1w5e8", "created_time": 1767225600123i64, "updated_time": 1767312000456i64,
         "latest_task": {"taskId": "t8f2m4r6v1b3n5z7", "commit": "a1b2c3d", "message": "Bump",
                         "ref": "refs/heads/main", "completed": true, "status": "success"},
         "owner": "acme", "provider": "github", "provider_repo_id": 584120377, "repo_name": "shop-api",
         "repo_url": "https://github.com/acme/shop-api.git",
         "secrets": {"ALIYUN_AK": "LTAI5tDemo", "DB_PASSWORD": "s3cr3t"},
         "trigger_spec": spec, "user_id": "u-7fa3c1"},
        {"id": "a0000000000000b1", "created_time": 1767225600000i64, "owner": "acme",
         "provider": "github", "repo_name": "legacy-cron", "secrets": {}, "user_id": "u-7fa3c1"},
        {"id": "c0000000000000d2", "created_time": 1767225600000i64, "owner": "acme", "repo_name": "jan-app",
         "user_id": "u-7fa3c1", "environment": {"default": {"type": "testing",
            "latest_task": {"taskId": "t1", "completed": false, "status": "running", "ref": "refs/heads/main"},
            "secrets": {"A": "1", "B": "2", "C": "3"}, "trigger_spec": spec,
            "cd_pipeline_yaml": "serverless-pipeline.yaml"}}},
        {"id": 4242, "repo_name": "numeric-id", "environment": {"prod": {"secrets": {"P": "x"}}}}
    ])
}

fn task_fixture(id: &str, env: bool) -> Value {
    let mut t = json!({"id": id, "app_id": "k3n9x0c2p7q1w5e8", "user_id": "u-7fa3c1", "status": "running",
        "steps": [
            {"run": "Set up task", "stepCount": "0", "status": "success", "process_time": 0.42},
            {"run": "Checkout", "stepCount": "117", "status": "success", "process_time": 4.25},
            {"run": "Install", "stepCount": "118", "status": "running"},
            {"run": "Deploy", "stepCount": 119, "status": "skipped", "process_time": 0},
            {"run": "Notify", "stepCount": "120", "status": "pending"}],
        "created_time": 1767398400000i64, "updated_time": 1767398411000i64,
        "message": "Bump express", "commit": "a1b2c3d4e5f6", "ref": "refs/heads/main", "branch": "main"});
    if env {
        t["env_name"] = json!("default");
    }
    t
}

fn page_fixture() -> Value {
    json!({"result": [task_fixture("p4s8d2f6g0h3j7k1", false), task_fixture("q1", true),
                      task_fixture("r2", false)], "totalCount": "3"})
}

/// One mutation pass, driven by `rng`; `rate` is the chance of each mutation.
struct Mutator {
    rng: fastrand::Rng,
    rate: f64,
    n: usize,
}

impl Mutator {
    fn hit(&mut self) -> bool {
        self.rng.f64() < self.rate
    }

    fn value(&mut self, v: &mut Value) {
        match v {
            Value::Number(n) if self.hit() => *v = Value::String(n.to_string()),
            Value::Bool(b) if self.hit() => *v = Value::String(b.to_string()),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(m) => self.object(m),
            _ => {}
        }
    }

    fn object(&mut self, m: &mut Map<String, Value>) {
        for (k, v) in m.iter_mut() {
            match k.as_str() {
                "status" if self.hit() => *v = json!("brand-new-status"),
                // Optional lists and maps: absent, null or empty.
                "steps" | "secrets" if self.hit() => {
                    *v = match self.rng.u8(..3) {
                        0 => Value::Null,
                        1 if k == "steps" => json!([]),
                        _ => json!({"__drop": true}),
                    }
                }
                _ => self.value(v),
            }
        }
        m.retain(|_, v| v.get("__drop").is_none());
        if self.hit() {
            self.n += 1;
            let extra = match self.rng.u8(..4) {
                0 => json!(null),
                1 => json!([1, "two", {"three": 3}]),
                2 => json!({"nested": {"deep": true}}),
                _ => json!("surprise"),
            };
            m.insert(format!("x_unknown_{}", self.n), extra);
        }
    }
}

fn mutate(mut v: Value, seed: u64, rate: f64) -> Value {
    let mut m = Mutator {
        rng: fastrand::Rng::with_seed(seed),
        rate,
        n: 0,
    };
    m.value(&mut v);
    v
}

proptest! {
    #[test]
    fn applications_survive_mutation(seed in any::<u64>(), rate in 0.0f64..1.0) {
        let apps = decode_applications(mutate(apps_fixture(), seed, rate));
        let ids: Vec<&str> = apps.iter().map(|a| a.id.as_str()).collect();
        prop_assert_eq!(ids, ["k3n9x0c2p7q1w5e8", "a0000000000000b1", "c0000000000000d2", "4242"]);
        let names: Vec<String> = apps.iter().map(|a| a.name()).collect();
        prop_assert_eq!(names, ["shop-api", "legacy-cron", "jan-app", "numeric-id"]);
        prop_assert_eq!(apps[2].env_name(), Some("default"));
        prop_assert_eq!(apps[3].env_name(), Some("prod"));
        for a in &apps {
            let p = app_project(a);
            prop_assert_eq!(&p.id, &a.id);
            for n in a.secret_names().unwrap_or_default() {
                prop_assert!(!n.contains("s3cr3t"));
            }
        }
        // What no mutation touches: the trigger branch (no numbers, no status in it).
        prop_assert_eq!(apps[0].default_ref(), Some("refs/heads/main"));
        prop_assert_eq!(apps[2].default_ref(), Some("refs/heads/main"));
    }

    #[test]
    fn task_pages_survive_mutation(seed in any::<u64>(), rate in 0.0f64..1.0) {
        let original = page_fixture();
        let page = decode_task_page(mutate(original.clone(), seed, rate)).unwrap();
        prop_assert_eq!(page.total_count, Some(3), "totalCount as number or string");
        let ids: Vec<&str> = page.result.iter().map(|t| t.id.as_str()).collect();
        prop_assert_eq!(ids, ["p4s8d2f6g0h3j7k1", "q1", "r2"]);
        for t in page.result {
            let n = t.steps.len();
            prop_assert!(n == 5 || n == 0, "steps kept whole or dropped as a list: {}", n);
            if n == 5 {
                let counts: Vec<Option<&str>> =
                    t.steps.iter().map(|s| s.step_count.as_deref()).collect();
                prop_assert_eq!(counts, [Some("0"), Some("117"), Some("118"), Some("119"), Some("120")]);
            }
            prop_assert_eq!(t.created_time, Some(1767398400000));
            let status = t.status.clone().unwrap_or_default();
            let b = task_build(t, "shop-api");
            prop_assert_eq!(&b.project, "shop-api");
            if status == "brand-new-status" {
                prop_assert_eq!(b.status, BuildStatus::Unknown);
            } else {
                prop_assert_eq!(b.status, build_status("running"));
            }
        }
    }

    #[test]
    fn a_single_task_survives_mutation(seed in any::<u64>(), rate in 0.0f64..1.0) {
        let t = decode_task(mutate(task_fixture("p4", true), seed, rate)).unwrap();
        prop_assert_eq!(t.id, "p4");
        prop_assert_eq!(t.git_ref.as_deref(), Some("refs/heads/main"));
    }
}

#[test]
fn one_odd_row_never_fails_the_list() {
    let mut apps = apps_fixture();
    if let Some(a) = apps.as_array_mut() {
        a.push(json!("not an application"));
        a.push(json!({"id": true, "repo_name": "bad id"}));
    }
    assert_eq!(decode_applications(apps).len(), 4);
    let mut page = page_fixture();
    if let Some(r) = page["result"].as_array_mut() {
        r.push(json!({"no": "id"}));
    }
    page["result"][0]["steps"][1]["process_time"] = json!({"odd": 1});
    page["result"][0]["created_time"] = json!("yesterday");
    let p = decode_task_page(page).unwrap();
    assert_eq!(p.result.len(), 3);
    assert_eq!(p.result[0].steps.len(), 5);
    assert_eq!(p.result[0].created_time, None);
}
