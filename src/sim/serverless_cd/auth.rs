//! The `cd_token` check and the token routes (`serverless-cd.md` §2, §9 #1, §11 R4/R5).

use axum::response::Response;
use serde_json::{Value, json};

use super::handlers::H;
use super::reply::{Fail, ok};
use super::state::{ScdState, id16, ms, token_secret};
use super::{Ctx, ServerlessCd};
use crate::sim::clock::NS_PER_MS;

/// The caller's user id; `expire_tokens_at` expires every token issued before that instant.
pub(super) fn authenticate(
    scd: &ServerlessCd,
    st: &mut ScdState,
    ctx: &Ctx,
) -> Result<String, Fail> {
    let Some(secret) = ctx.headers.get("cd_token").and_then(|v| v.to_str().ok()) else {
        return Err(Fail::NoToken);
    };
    let cut = scd.core.token_cut("serverless-cd");
    let now = ctx.now;
    let Some(tok) = st.tokens.iter_mut().find(|t| t.secret == secret) else {
        return Err(Fail::UnknownToken);
    };
    let expired =
        tok.expire.is_some_and(|e| now >= e) || cut.is_some_and(|c| now >= c && tok.created < c);
    if expired {
        return Err(Fail::ExpiredToken);
    }
    tok.active = Some(now);
    Ok(tok.user.clone())
}

impl H<'_> {
    pub(super) fn token_create(self) -> Result<Response, Fail> {
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
        Ok(ok(self.era, json!({ "cd_token": secret })))
    }

    pub(super) fn token_list(self) -> Result<Response, Fail> {
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
        Ok(ok(self.era, Value::Array(rows)))
    }

    pub(super) fn token_update(self) -> Result<Response, Fail> {
        let id = self.ctx.field("id").ok_or_else(|| H::required("id"))?;
        let expiration = self
            .ctx
            .body
            .get("expiration")
            .and_then(Value::as_i64)
            .ok_or_else(|| H::required("expiration"))?;
        let now = self.now();
        let user = self.user;
        let t = self
            .st
            .tokens
            .iter_mut()
            .find(|t| t.id == id && t.user == user)
            .ok_or_else(|| Fail::Early(super::reply::TOKEN_UNKNOWN.into()))?;
        t.expire = (expiration >= 0).then(|| now + expiration * NS_PER_MS);
        Ok(ok(self.era, json!({})))
    }

    pub(super) fn token_delete(self) -> Result<Response, Fail> {
        let id = self.ctx.field("id").ok_or_else(|| H::required("id"))?;
        let user = self.user;
        let before = self.st.tokens.len();
        self.st.tokens.retain(|t| !(t.id == id && t.user == user));
        if self.st.tokens.len() == before {
            return Err(Fail::Early(super::reply::TOKEN_UNKNOWN.into()));
        }
        Ok(ok(self.era, json!({})))
    }
}
