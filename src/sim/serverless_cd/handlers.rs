//! Route dispatch and handlers (`serverless-cd.md` §4, §9, §11). Handlers return a `Fail` for
//! every refusal; `reply` renders it as the configured era does.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::authenticate;
use super::reply::{Answer, Fail, index_page, ok};
use super::state::{Outcome, ScdState, TaskSpec, uuid_v4};
use super::{Ctx, Era, ServerlessCd};
use crate::sim::paging;

pub(crate) const APP_NOT_FOUND: &str = "没有查到应用信息";
/// `application/detail` of an unknown id (§11 R14).
pub(crate) const NO_APP_DATA: &str = "暂无应用信息";
pub(crate) const TASK_NOT_FOUND: &str = "没有查到部署信息";
pub(crate) const NO_PERMISSION: &str = "无权操作此应用";
/// A missing object in the log store: not uploaded yet, or gone (§11 R9).
pub const NO_SUCH_KEY: &str = "The specified key does not exist.";
/// The storage limit behind `pageSize` (§11 R16).
pub(crate) const PAGE_LIMIT: &str =
    "OTSParameterInvalid: the limit of a query must be between 1 and 100";
/// What the Function Compute client says when a finished task is stopped (§11 R13).
pub(crate) fn already_finished(task_id: &str) -> String {
    format!(
        "StatefulAsyncInvocationAlreadyCompleted: the stateful async invocation {task_id} has already completed"
    )
}

const DEFAULT_PAGE: usize = 1;
const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 100;

pub(super) fn dispatch(scd: &ServerlessCd, ctx: &Ctx) -> Answer {
    let path = ctx.path.strip_suffix('/').unwrap_or(&ctx.path);
    let route = if let Some(r) = path.strip_prefix("/api/tokens/") {
        Some(("tokens", r))
    } else if let Some(r) = path.strip_prefix("/api/flow/") {
        Some(("flow", r))
    } else {
        path.strip_prefix("/api/").map(|r| ("flow", r))
    };
    let m = ctx.method.as_str();
    let known = match route {
        Some(("tokens", r)) => matches!(
            (m, r),
            ("POST", "create") | ("GET", "list") | ("POST", "update") | ("POST", "delete")
        ),
        Some((_, r)) => matches!(
            (m, r),
            ("GET", "application/list")
                | ("GET", "application/detail")
                | ("POST", "application/create")
                | ("DELETE", "application/delete")
                | ("GET", "task/list")
                | ("GET", "task/get")
                | ("GET", "task/log")
                | ("POST", "task/remove")
                | ("POST", "dispatch/manual")
                | ("POST", "dispatch/redeploy")
                | ("POST", "dispatch/cancel")
        ),
        None => false,
    };
    // Unknown routes fall through to the web UI (§11 R8).
    let Some((area, r)) = route.filter(|_| known) else {
        return Answer::Now(index_page());
    };
    let era = scd.era();
    let mut st = scd.lock();
    st.advance(ctx.now);
    let user = match authenticate(scd, &mut st, ctx) {
        Ok(u) => u,
        Err(f) => return f.render(era),
    };
    let h = H {
        scd,
        st: &mut st,
        ctx,
        user: &user,
        era,
    };
    let res = match (area, r) {
        ("tokens", "create") => h.token_create(),
        ("tokens", "list") => h.token_list(),
        ("tokens", "update") => h.token_update(),
        ("tokens", _) => h.token_delete(),
        (_, "application/list") => h.app_list(),
        (_, "application/detail") => h.app_detail(),
        (_, "application/create") => h.app_create(),
        (_, "application/delete") => h.app_delete(),
        (_, "task/list") => h.task_list(),
        (_, "task/get") => h.task_get(),
        (_, "task/log") => h.task_log(),
        (_, "task/remove") => h.task_remove(),
        (_, "dispatch/manual") => h.manual(),
        (_, "dispatch/redeploy") => h.redeploy(),
        _ => h.cancel(),
    };
    match res {
        Ok(r) => Answer::Now(r),
        Err(f) => f.render(era),
    }
}

pub(super) struct H<'a> {
    pub scd: &'a ServerlessCd,
    pub st: &'a mut ScdState,
    pub ctx: &'a Ctx,
    pub user: &'a str,
    pub era: Era,
}

type Res = Result<Response, Fail>;

/// `currentPage`: `Number(x)`, anything ≤ 1 or not a number is page 1 (§11 R16).
fn page_param(v: Option<&str>) -> usize {
    v.and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 1.0)
        .map(|f| f.floor().min(1e12) as usize)
        .unwrap_or(DEFAULT_PAGE)
}

/// `pageSize`: 0, negative and non-numbers give the default; above 100 the storage refuses
/// (§11 R16).
fn size_param(v: Option<&str>) -> Result<usize, Fail> {
    let size = v
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 1.0)
        .map(|f| f.floor().min(1e12) as usize)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    if size > MAX_PAGE_SIZE {
        return Err(Fail::Thrown(PAGE_LIMIT.into()));
    }
    Ok(size)
}

impl H<'_> {
    pub fn now(&self) -> i64 {
        self.ctx.now
    }

    /// A dispatch-style required field (`ref 必填`).
    pub fn required(field: &str) -> Fail {
        Fail::Early(format!("{field} 必填"))
    }

    /// A task-route validation error (`AppId is empty`).
    fn empty(field: &str) -> Fail {
        Fail::Invalid(format!("{field} is empty"))
    }

    fn query(&self, name: &str) -> Option<String> {
        self.ctx
            .q(name)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// An application the caller may act on, by id.
    fn own_app(&self, id: Option<String>, field: &str) -> Result<usize, Fail> {
        let id = id.ok_or_else(|| H::required(field))?;
        let i = self
            .st
            .app_index(&id)
            .ok_or_else(|| Fail::Early(APP_NOT_FOUND.into()))?;
        if self.st.apps[i].user_id != self.user {
            return Err(Fail::Early(NO_PERMISSION.into()));
        }
        Ok(i)
    }

    /// A task the caller may see, by id (the id's presence already checked).
    fn own_task(&self, id: &str) -> Result<usize, Fail> {
        let i = self
            .st
            .tasks
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| Fail::Thrown(TASK_NOT_FOUND.into()))?;
        if self.st.tasks[i].user_id != self.user {
            return Err(Fail::Thrown(NO_PERMISSION.into()));
        }
        Ok(i)
    }

    fn app_list(self) -> Res {
        let rows: Vec<Value> = (0..self.st.apps.len())
            .filter(|i| self.st.apps[*i].user_id == self.user)
            .map(|i| self.st.app_json(i, self.now(), self.era))
            .collect();
        Ok(ok(self.era, Value::Array(rows)))
    }

    /// No owner check on the real server (§11 R14).
    fn app_detail(self) -> Res {
        let i = self
            .query("id")
            .and_then(|id| self.st.app_index(&id))
            .ok_or_else(|| Fail::Early(NO_APP_DATA.into()))?;
        Ok(ok(self.era, self.st.app_json(i, self.now(), self.era)))
    }

    fn app_create(self) -> Res {
        for f in ["repo", "owner", "repo_url", "provider_repo_id", "provider"] {
            if self.ctx.field(f).is_none() {
                return Err(H::required(f));
            }
        }
        let spec = self
            .ctx
            .body
            .get("trigger_spec")
            .filter(|v| v.is_object())
            .cloned()
            .ok_or_else(|| H::required("trigger_spec"))?;
        let repo_id = self.ctx.field("provider_repo_id").unwrap_or_default();
        if self.st.apps.iter().any(|a| a.provider_repo_id == repo_id) {
            // The "already bound" branch is never reached: the request hangs (§11 R17).
            return Err(Fail::Hold);
        }
        let secrets: Vec<(String, String)> = self
            .ctx
            .body
            .get("secrets")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut app = self.st.new_app(
            &self.ctx.field("owner").unwrap_or_default(),
            &self.ctx.field("repo").unwrap_or_default(),
            &repo_id,
            self.user,
            self.now(),
            secrets,
            Outcome::Ok,
            Some(spec),
        );
        app.repo_url = self.ctx.field("repo_url").unwrap_or_default();
        app.description = self.ctx.field("description");
        let id = app.id.clone();
        self.st.apps.push(app);
        Ok(ok(self.era, json!({ "id": id })))
    }

    fn app_delete(self) -> Res {
        let i = self.own_app(self.query("appId"), "appId")?;
        let app = self.st.apps.remove(i);
        self.st.tasks.retain(|t| t.app_id != app.id);
        Ok(ok(self.era, json!({})))
    }

    fn task_list(self) -> Res {
        let app_id = self.query("appId").ok_or_else(|| H::empty("AppId"))?;
        let env = match self.era {
            Era::Nov => None,
            Era::Jan => Some(self.query("envName").ok_or_else(|| H::empty("envName"))?),
        };
        let page = page_param(self.ctx.q("currentPage"));
        let size = size_param(self.ctx.q("pageSize"))?;
        let now = self.now();
        let mut rows: Vec<&super::state::Task> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.app_id == app_id && t.user_id == self.user)
            .filter(|t| env.as_ref().is_none_or(|e| *e == t.env))
            .collect();
        rows.sort_by(|a, b| {
            (b.updated(now), b.spec.created, &b.id).cmp(&(a.updated(now), a.spec.created, &a.id))
        });
        let total = rows.len();
        let result: Vec<Value> = paging::page(rows, page, size)
            .into_iter()
            .map(|t| t.to_json(now, self.era))
            .collect();
        // The storage SDK's hit count is a string (§11 R1).
        Ok(ok(
            self.era,
            json!({"result": result, "totalCount": total.to_string()}),
        ))
    }

    fn task_get(self) -> Res {
        let id = self.query("taskId").ok_or_else(|| H::empty("TaskId"))?;
        let i = self.own_task(&id)?;
        Ok(ok(self.era, self.st.tasks[i].to_json(self.now(), self.era)))
    }

    /// The object `logs/<taskId>/step_<stepCount>.log`, read straight from the store.
    fn task_log(self) -> Res {
        let id = self.query("taskId").ok_or_else(|| H::empty("TaskId"))?;
        let step = self
            .query("stepCount")
            .ok_or_else(|| H::empty("StepCount"))?;
        let missing = || Fail::Thrown(NO_SUCH_KEY.into());
        let task = self
            .st
            .task(&id)
            .filter(|t| t.user_id == self.user)
            .ok_or_else(missing)?;
        let mut text = task
            .step_index(&step)
            .and_then(|n| task.log(n, self.now()))
            .ok_or_else(missing)?;
        let rate = self.scd.core.faults_for("serverless-cd").truncate_rate;
        if rate.is_some_and(|r| r > 0.0 && self.scd.core.fault_draw() < r) {
            // A prefix ending mid-line.
            let b = text.as_bytes();
            let cuts: Vec<usize> = (1..b.len())
                .filter(|p| text.is_char_boundary(*p) && b.get(p - 1) != Some(&b'\n'))
                .collect();
            if !cuts.is_empty() {
                let k = (self.scd.core.fault_draw() * cuts.len() as f64) as usize % cuts.len();
                if let Some(at) = cuts.get(k) {
                    text.truncate(*at);
                }
            }
        }
        Ok(ok(self.era, Value::String(text)))
    }

    fn task_remove(self) -> Res {
        let id = self.ctx.field("taskId").ok_or_else(|| H::empty("TaskId"))?;
        let i = self.own_task(&id)?;
        self.st.tasks.remove(i);
        // Nov `{"success": true, "data": {}}`; Jan adds `code: 200` (§11 R15).
        Ok(ok(self.era, json!({})))
    }

    fn dispatched(&mut self, spec: TaskSpec) -> Res {
        let id = self.st.create_task(spec);
        let request_id = uuid_v4(&mut self.st.rng);
        Ok(ok(
            self.era,
            json!({"x-fc-request-id": request_id, "taskId": id}),
        ))
    }

    /// `ref: ""` is accepted and resolved to the default branch; only a missing or `null` ref
    /// is refused (§11 R12).
    fn manual(mut self) -> Res {
        let app = self.own_app(self.ctx.field("appId"), "appId")?;
        let git_ref = match self.ctx.body.get("ref") {
            None | Some(Value::Null) => return Err(H::required("ref")),
            Some(Value::String(s)) if s.is_empty() => self.st.apps[app].default_ref().name.clone(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let head = self.st.apps[app]
            .refs
            .iter()
            .find(|r| r.name == git_ref)
            .cloned()
            .ok_or_else(|| Fail::Thrown(format!("ref {git_ref} not found")))?;
        let commit = self.ctx.field("commitId").unwrap_or(head.commit);
        let message = self.ctx.field("message").unwrap_or(head.message);
        let inputs: Map<String, Value> = self
            .ctx
            .body
            .get("inputs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let now = self.now();
        self.dispatched(TaskSpec {
            app,
            created: now,
            commit,
            git_ref,
            message,
            redelivery: None,
            inputs,
        })
    }

    fn redeploy(mut self) -> Res {
        let id = self
            .ctx
            .field("taskId")
            .ok_or_else(|| H::required("taskId"))?;
        let i = self.own_task(&id)?;
        let old = &self.st.tasks[i];
        let app = self
            .st
            .app_index(&old.app_id)
            .ok_or_else(|| Fail::Early(APP_NOT_FOUND.into()))?;
        let spec = TaskSpec {
            app,
            created: self.now(),
            redelivery: Some(old.id.clone()),
            ..old.spec.clone()
        };
        self.dispatched(spec)
    }

    fn cancel(self) -> Res {
        let id = self
            .ctx
            .field("taskId")
            .ok_or_else(|| H::required("taskId"))?;
        let i = self.own_task(&id)?;
        let now = self.now();
        let task = &mut self.st.tasks[i];
        if task.is_finished(now) {
            // The server's own "already stopped" branch cannot match (§11 R13).
            return Err(Fail::Thrown(already_finished(&task.id)));
        }
        task.cancelled_at = Some(now);
        Ok(ok(self.era, json!({})))
    }
}

#[cfg(test)]
mod tests {
    use super::{page_param, size_param};

    #[test]
    fn page_params_follow_number_semantics() {
        assert_eq!(page_param(None), 1);
        assert_eq!(page_param(Some("0")), 1);
        assert_eq!(page_param(Some("abc")), 1);
        assert_eq!(page_param(Some("-3")), 1);
        assert_eq!(page_param(Some("2.7")), 2);
        assert_eq!(size_param(None).ok(), Some(10));
        assert_eq!(size_param(Some("0")).ok(), Some(10));
        assert_eq!(size_param(Some("x")).ok(), Some(10));
        assert_eq!(size_param(Some("-5")).ok(), Some(10));
        assert_eq!(size_param(Some("100")).ok(), Some(100));
        assert!(size_param(Some("101")).is_err());
    }
}
