//! Stand-in for kinds whose client is not built yet: the profile parses and validates, and the
//! dashboard says plainly that this kind cannot be used with this version.

use super::{ApiError, Backend};
use crate::domain::{Kind, Session};
use async_trait::async_trait;

pub struct Unavailable(pub Kind);

#[async_trait]
impl Backend for Unavailable {
    fn kind(&self) -> Kind {
        self.0
    }

    async fn login(&self) -> Result<Session, ApiError> {
        Err(ApiError::Unsupported(format!(
            "the {} backend ({}) is not available in this version of shipdeck yet; \
             the profile is valid and will work once it is",
            self.0.as_str(),
            self.0.label()
        )))
    }
}
