//! Route dispatch and handlers (`serverless-cd.md` §4, §9).

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::state::{Outcome, ScdState, TaskSpec, id16, ms, token_secret, uuid_v4};
use super::{Ctx, ServerlessCd, cannot, error, json_response, ok};
use crate::sim::clock::NS_PER_MS;

pub const NEED_LOGIN: &str = "need login";
pub const TOKEN_UNKNOWN: &str = "token 不存在";
pub const TOKEN_EXPIRED: &str = "token 已过期";
pub const APP_NOT_FOUND: &str = "没有查到应用信息";
pub const TASK_NOT_FOUND: &str = "没有查到部署信息";
pub const NO_PERMISSION: &str = "无权操作此应用";
pub const ALREADY_STOPPED: &str = "任务运行已经被停止";
pub const ALREADY_BOUND: &str = "代码仓库已绑定，请勿重新绑定";
pub const LOG_EXPIRED: &str = "The logs for this run have expired and are no longer available.";

const DEFAULT_PAGE: usize = 1;
const DEFAULT_PAGE_SIZE: usize = 10;

fn required(field: &str) -> Response {
    error(424, &format!("{field} 必填"))
}

/// A handled error, rendered as the HTTP-200 envelope.
struct Fail(u16, String);

impl Fail {
    fn required(field: &str) -> Fail {
        Fail(424, format!("{field} 必填"))
    }
}

impl From<Fail> for Response {
    fn from(f: Fail) -> Response {
        error(f.0, &f.1)
    }
}

pub(super) fn dispatch(scd: &ServerlessCd, ctx: &Ctx) -> Response {
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
    let Some((area, r)) = route.filter(|_| known) else {
        return cannot(&ctx.method, &ctx.path);
    };
    let mut st = scd.lock();
    st.advance(ctx.now);
    let user = match authenticate(scd, &mut st, ctx) {
        Ok(u) => u,
        Err(f) => return f.into(),
    };
    let h = H {
        scd,
        st: &mut st,
        ctx,
        user: &user,
    };
    match (area, r) {
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
    }
}

/// The `cd_token` check (§2, §9 #1); `expire_tokens_at` expires every token issued before it.
fn authenticate(scd: &ServerlessCd, st: &mut ScdState, ctx: &Ctx) -> Result<String, Fail> {
    let Some(secret) = ctx.headers.get("cd_token").and_then(|v| v.to_str().ok()) else {
        return Err(Fail(401, NEED_LOGIN.into()));
    };
    let cut = scd
        .core
        .faults_for("serverless-cd")
        .expire_tokens_at
        .map(|d| scd.core.clock.start_ns() + d.as_nanos() as i64);
    let now = ctx.now;
    let Some(tok) = st.tokens.iter_mut().find(|t| t.secret == secret) else {
        return Err(Fail(401, TOKEN_UNKNOWN.into()));
    };
    let expired =
        tok.expire.is_some_and(|e| now >= e) || cut.is_some_and(|c| now >= c && tok.created < c);
    if expired {
        return Err(Fail(401, TOKEN_EXPIRED.into()));
    }
    tok.active = Some(now);
    Ok(tok.user.clone())
}

struct H<'a> {
    scd: &'a ServerlessCd,
    st: &'a mut ScdState,
    ctx: &'a Ctx,
    user: &'a str,
}

/// `Number(x)`; falsy (0, NaN, absent) and — per §9 #13 — negative values give the default.
fn page_param(v: Option<&str>, default: usize) -> usize {
    v.and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 1.0)
        .map(|f| f.floor().min(1e12) as usize)
        .unwrap_or(default)
}

impl H<'_> {
    fn now(&self) -> i64 {
        self.ctx.now
    }

    /// An application the caller may act on, by id.
    fn own_app(&self, id: Option<String>, field: &str) -> Result<usize, Fail> {
        let Some(id) = id else {
            return Err(Fail::required(field));
        };
        let Some(i) = self.st.app_index(&id) else {
            return Err(Fail(400, APP_NOT_FOUND.into()));
        };
        if self.st.apps[i].user_id != self.user {
            return Err(Fail(401, NO_PERMISSION.into()));
        }
        Ok(i)
    }

    /// A task the caller may see, by id.
    fn own_task(&self, id: Option<String>) -> Result<usize, Fail> {
        let Some(id) = id else {
            return Err(Fail::required("taskId"));
        };
        let Some(i) = self.st.tasks.iter().position(|t| t.id == id) else {
            return Err(Fail(400, TASK_NOT_FOUND.into()));
        };
        if self.st.tasks[i].user_id != self.user {
            return Err(Fail(401, NO_PERMISSION.into()));
        }
        Ok(i)
    }

    fn app_list(self) -> Response {
        let rows: Vec<Value> = (0..self.st.apps.len())
            .filter(|i| self.st.apps[*i].user_id == self.user)
            .map(|i| self.st.app_json(i, self.now()))
            .collect();
        ok(Value::Array(rows))
    }

    fn app_detail(self) -> Response {
        let id = self
            .ctx
            .q("id")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        match self.own_app(id, "id") {
            Ok(i) => ok(self.st.app_json(i, self.now())),
            Err(f) => f.into(),
        }
    }

    fn app_create(self) -> Response {
        for f in ["repo", "owner", "repo_url", "provider_repo_id", "provider"] {
            if self.ctx.field(f).is_none() {
                return required(f);
            }
        }
        let Some(spec) = self
            .ctx
            .body
            .get("trigger_spec")
            .filter(|v| v.is_object())
            .cloned()
        else {
            return required("trigger_spec");
        };
        let repo_id = self.ctx.field("provider_repo_id").unwrap_or_default();
        if self.st.apps.iter().any(|a| a.provider_repo_id == repo_id) {
            return error(424, ALREADY_BOUND);
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
        ok(json!({ "id": id }))
    }

    fn app_delete(self) -> Response {
        let id = self
            .ctx
            .q("appId")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        match self.own_app(id, "appId") {
            Ok(i) => {
                let app = self.st.apps.remove(i);
                self.st.tasks.retain(|t| t.app_id != app.id);
                ok(json!({}))
            }
            Err(f) => f.into(),
        }
    }

    fn task_list(self) -> Response {
        let Some(app_id) = self.ctx.q("appId").filter(|s| !s.is_empty()) else {
            return required("appId");
        };
        let page = page_param(self.ctx.q("currentPage"), DEFAULT_PAGE);
        let size = page_param(self.ctx.q("pageSize"), DEFAULT_PAGE_SIZE);
        let now = self.now();
        let mut rows: Vec<&super::state::Task> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.app_id == app_id && t.user_id == self.user)
            .collect();
        rows.sort_by(|a, b| {
            (b.updated(now), b.created, &b.id).cmp(&(a.updated(now), a.created, &a.id))
        });
        let total = rows.len();
        let result: Vec<Value> = rows
            .into_iter()
            .skip(page.saturating_sub(1).saturating_mul(size))
            .take(size)
            .map(|t| t.to_json(now))
            .collect();
        ok(json!({"result": result, "totalCount": total}))
    }

    fn task_get(self) -> Response {
        let id = self
            .ctx
            .q("taskId")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        match self.own_task(id) {
            Ok(i) => ok(self.st.tasks[i].to_json(self.now())),
            Err(f) => f.into(),
        }
    }

    fn task_log(self) -> Response {
        let id = self
            .ctx
            .q("taskId")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let Some(step) = self.ctx.q("stepCount").filter(|s| !s.is_empty()) else {
            return if id.is_none() {
                required("taskId")
            } else {
                required("stepCount")
            };
        };
        let i = match self.own_task(id) {
            Ok(i) => i,
            Err(f) => return f.into(),
        };
        let text = step
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| self.st.tasks[i].log(n, self.now()));
        let Some(mut text) = text else {
            return error(400, LOG_EXPIRED);
        };
        let rate = self.scd.core.faults_for("serverless-cd").truncate_rate;
        if rate.is_some_and(|r| r > 0.0 && self.scd.core.fault_draw() < r) {
            // A prefix ending mid-line.
            let b = text.as_bytes();
            let cuts: Vec<usize> = (1..b.len())
                .filter(|p| text.is_char_boundary(*p) && b[p - 1] != b'\n')
                .collect();
            if !cuts.is_empty() {
                let at =
                    cuts[(self.scd.core.fault_draw() * cuts.len() as f64) as usize % cuts.len()];
                text.truncate(at);
            }
        }
        ok(Value::String(text))
    }

    fn task_remove(self) -> Response {
        match self.own_task(self.ctx.field("taskId")) {
            Ok(i) => {
                self.st.tasks.remove(i);
                json_response(axum::http::StatusCode::OK, &json!({"success": true}))
            }
            Err(f) => f.into(),
        }
    }

    fn dispatched(&mut self, spec: TaskSpec) -> Response {
        let id = self.st.create_task(spec);
        let request_id = uuid_v4(&mut self.st.rng);
        ok(json!({"x-fc-request-id": request_id, "taskId": id}))
    }

    fn manual(mut self) -> Response {
        let app = match self.own_app(self.ctx.field("appId"), "appId") {
            Ok(i) => i,
            Err(f) => return f.into(),
        };
        let Some(git_ref) = self.ctx.field("ref") else {
            return required("ref");
        };
        let Some(head) = self.st.apps[app]
            .refs
            .iter()
            .find(|r| r.name == git_ref)
            .cloned()
        else {
            return error(400, &format!("ref {git_ref} not found"));
        };
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
            trigger_type: "manual".into(),
            commit,
            git_ref,
            message,
            redelivery: None,
            inputs,
        })
    }

    fn redeploy(mut self) -> Response {
        let i = match self.own_task(self.ctx.field("taskId")) {
            Ok(i) => i,
            Err(f) => return f.into(),
        };
        let old = &self.st.tasks[i];
        let Some(app) = self.st.app_index(&old.app_id) else {
            return error(400, APP_NOT_FOUND);
        };
        let spec = TaskSpec {
            app,
            created: self.now(),
            trigger_type: "redeploy".into(),
            commit: old.commit.clone(),
            git_ref: old.git_ref.clone(),
            message: old.message.clone(),
            redelivery: Some(old.id.clone()),
            inputs: old.inputs.clone(),
        };
        self.dispatched(spec)
    }

    fn cancel(self) -> Response {
        let i = match self.own_task(self.ctx.field("taskId")) {
            Ok(i) => i,
            Err(f) => return f.into(),
        };
        let now = self.now();
        let task = &mut self.st.tasks[i];
        if task.is_finished(now) {
            return error(424, ALREADY_STOPPED);
        }
        task.cancelled_at = Some(now);
        ok(json!({}))
    }

    fn token_create(self) -> Response {
        let expiration = self
            .ctx
            .body
            .get("expiration")
            .and_then(Value::as_i64)
            .unwrap_or(-1);
        let description = self.ctx.field("description").unwrap_or_default();
        let secret = token_secret(&mut self.st.rng);
        let id = id16(&mut self.st.rng);
        let now = self.now();
        self.st.tokens.push(super::state::Token {
            id,
            secret: secret.clone(),
            user: self.user.to_string(),
            description,
            created: now,
            expire: (expiration >= 0).then(|| now + expiration * NS_PER_MS),
            active: None,
        });
        ok(json!({ "cd_token": secret }))
    }

    fn token_list(self) -> Response {
        let rows: Vec<Value> = self
            .st
            .tokens
            .iter()
            .filter(|t| t.user == self.user)
            .map(|t| {
                json!({
                    "id": t.id,
                    "description": t.description,
                    "created_time": ms(t.created),
                    "expire_time": t.expire.map_or(-1, ms),
                    "active_time": t.active.map(ms),
                })
            })
            .collect();
        ok(Value::Array(rows))
    }

    fn token_update(self) -> Response {
        let Some(id) = self.ctx.field("id") else {
            return required("id");
        };
        let Some(expiration) = self.ctx.body.get("expiration").and_then(Value::as_i64) else {
            return required("expiration");
        };
        let now = self.now();
        let user = self.user;
        match self
            .st
            .tokens
            .iter_mut()
            .find(|t| t.id == id && t.user == user)
        {
            Some(t) => {
                t.expire = (expiration >= 0).then(|| now + expiration * NS_PER_MS);
                ok(json!({}))
            }
            None => error(400, "token 不存在"),
        }
    }

    fn token_delete(self) -> Response {
        let Some(id) = self.ctx.field("id") else {
            return required("id");
        };
        let user = self.user;
        let before = self.st.tokens.len();
        self.st.tokens.retain(|t| !(t.id == id && t.user == user));
        if self.st.tokens.len() == before {
            return error(400, "token 不存在");
        }
        ok(json!({}))
    }
}

#[cfg(test)]
mod tests {
    use super::page_param;

    #[test]
    fn page_params_follow_number_semantics() {
        assert_eq!(page_param(None, 10), 10);
        assert_eq!(page_param(Some("0"), 10), 10);
        assert_eq!(page_param(Some("abc"), 10), 10);
        assert_eq!(page_param(Some("-3"), 10), 10);
        assert_eq!(page_param(Some("25"), 10), 25);
        assert_eq!(page_param(Some("2.7"), 1), 2);
    }
}
