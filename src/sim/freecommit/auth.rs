//! Real HS512 JWTs with Free Commit's claims (`sub` = user-table id, `iat`,
//! `exp`, `username`, `roles`, `provider` = `"FREE-COMMIT"`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha512;

/// Fixed simulator signing key (64 bytes for HS512).
const KEY: &[u8] = b"shipdeck-simulator-free-commit-hs512-signing-key-not-a-secret!!!";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub username: String,
    pub roles: Vec<String>,
    pub provider: String,
}

impl Claims {
    pub fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// The signature of `input`; `None` only if HMAC refused the key (it takes any length), and
/// then no token verifies.
fn sign(input: &str) -> Option<String> {
    let mut mac = Hmac::<Sha512>::new_from_slice(KEY).ok()?;
    mac.update(input.as_bytes());
    Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

pub(crate) fn encode(claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let input = format!("{header}.{payload}");
    let sig = sign(&input).unwrap_or_default();
    format!("{input}.{sig}")
}

/// Why a token was refused (`error.jwt.invalid` / `error.jwt.expired`).
#[derive(Debug, PartialEq)]
pub(crate) enum JwtError {
    Invalid,
    Expired,
}

/// Verifies signature and expiry against simulated time `now_s`; tokens issued
/// before `revoked_before_s` (the `expire_tokens_at` moment, once reached) are
/// refused as expired.
pub fn decode(token: &str, now_s: i64, revoked_before_s: Option<i64>) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Invalid);
    };
    let expected = sign(&format!("{h}.{p}")).ok_or(JwtError::Invalid)?;
    let (a, b) = (expected.as_bytes(), s.as_bytes());
    if a.len() != b.len() || a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) != 0 {
        return Err(JwtError::Invalid);
    }
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| JwtError::Invalid)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Invalid)?;
    if now_s >= claims.exp {
        return Err(JwtError::Expired);
    }
    if let Some(cut) = revoked_before_s
        && now_s >= cut
        && claims.iat < cut
    {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_expiry() {
        let c = Claims {
            sub: "4".into(),
            iat: 100,
            exp: 200,
            username: "alice".into(),
            roles: vec!["ROLE_DEVELOPER".into()],
            provider: "FREE-COMMIT".into(),
        };
        let t = encode(&c);
        assert_eq!(decode(&t, 150, None), Ok(c));
        assert_eq!(decode(&t, 200, None), Err(JwtError::Expired));
        assert_eq!(decode(&t, 150, Some(120)), Err(JwtError::Expired));
        let mut bad = t.clone();
        bad.push('x');
        assert_eq!(decode(&bad, 150, None), Err(JwtError::Invalid));
    }
}
