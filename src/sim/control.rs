//! Control routes at the server root, never faulted and never used by a real
//! backend: `GET /__sim/health`, `POST /__sim/reset`,
//! `POST /__sim/clock/advance {"seconds": n}`, `PUT /__sim/faults`,
//! `DELETE /__sim/faults`, `GET /__sim/stats` (requests received, see `stats`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::clock::{NS_PER_SEC, fmt_ns};
use super::{Backend, ClockMode, Core, Faults};

#[derive(Clone)]
struct Ctl {
    core: Arc<Core>,
    backends: Arc<Vec<Arc<dyn Backend>>>,
}

pub fn router(core: Arc<Core>, backends: Vec<Arc<dyn Backend>>) -> Router {
    let st = Ctl {
        core,
        backends: Arc::new(backends),
    };
    Router::new()
        .route("/__sim/health", get(health))
        .route("/__sim/reset", post(reset))
        .route("/__sim/clock/advance", post(advance))
        .route("/__sim/stats", get(stats))
        .route(
            "/__sim/faults",
            put(put_faults).delete(delete_faults).get(get_faults),
        )
        .with_state(st)
}

fn status(core: &Core) -> Value {
    json!({
        "status": "ok",
        "now": fmt_ns(core.clock.now_ns()),
        "clock": match core.clock.mode() { ClockMode::Manual => "manual", ClockMode::Real => "real" },
        "seed": core.seed,
        "demo": core.demo,
        "faults": core.faults().to_string(),
    })
}

async fn health(State(st): State<Ctl>) -> Json<Value> {
    Json(status(&st.core))
}

async fn stats(State(st): State<Ctl>) -> Json<Value> {
    Json(st.core.requests.to_json())
}

async fn reset(State(st): State<Ctl>) -> Json<Value> {
    for b in st.backends.iter() {
        b.reset();
    }
    Json(status(&st.core))
}

fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": msg }))).into_response()
}

async fn advance(State(st): State<Ctl>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("expected {{\"seconds\": n}}: {e}")),
    };
    let Some(secs) = v
        .get("seconds")
        .and_then(Value::as_f64)
        .filter(|s| *s >= 0.0)
    else {
        return bad_request("expected {\"seconds\": n} with n >= 0".into());
    };
    st.core
        .clock
        .advance((secs * NS_PER_SEC as f64).round() as i64);
    Json(status(&st.core)).into_response()
}

async fn get_faults(State(st): State<Ctl>) -> Json<Value> {
    Json(json!({ "faults": st.core.faults().to_string() }))
}

async fn put_faults(State(st): State<Ctl>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("expected a JSON object of fault keys: {e}")),
    };
    match Faults::from_json(&v) {
        Ok(f) => {
            st.core.set_faults(f);
            Json(json!({ "faults": st.core.faults().to_string() })).into_response()
        }
        Err(e) => bad_request(e.to_string()),
    }
}

async fn delete_faults(State(st): State<Ctl>) -> Json<Value> {
    st.core.set_faults(Faults::default());
    Json(json!({ "faults": "" }))
}
