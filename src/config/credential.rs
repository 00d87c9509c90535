//! Where a secret comes from, and turning that into a `SecretString` only at the moment of use.

use secrecy::SecretString;
use std::time::Duration;

/// A secret field of a profile (`password`, `api_key`, `token`, `runner_token`).
#[derive(Clone)]
pub enum Credential {
    /// `<field>_env = "VAR"`
    Env(String),
    /// `<field>_command = "pass show ci/alice"`: stdout (trailing newline trimmed) is the secret.
    Command(String),
    /// `<field> = "…"` in a private file, or handed in by the demo.
    Inline(SecretString),
    /// `<field>_keyring = "<service>/<account>"`: the OS keyring, read with a short timeout.
    /// When it cannot give the secret (no keyring reachable, locked past the timeout, no such
    /// entry), the field's other source, if the profile gives one, is used instead.
    Keyring {
        entry: super::KeyringEntry,
        /// The secret field (`password`, …), for messages that say what to set instead.
        field: String,
        fallback: Option<Box<Credential>>,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Env(var) => write!(f, "Env({var})"),
            Credential::Command(cmd) => write!(f, "Command({cmd})"),
            Credential::Inline(_) => f.write_str("Inline([REDACTED])"),
            Credential::Keyring {
                entry, fallback, ..
            } => match fallback {
                Some(next) => write!(f, "Keyring({entry}, else {next:?})"),
                None => write!(f, "Keyring({entry})"),
            },
        }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CredentialError {
    #[error("environment variable {0} is not set (or is empty)")]
    EnvMissing(String),
    #[error("`{command}` failed: {detail}")]
    CommandFailed { command: String, detail: String },
    #[error("`{0}` printed nothing")]
    CommandEmpty(String),
    #[error("{0}")]
    Keyring(#[from] super::KeyringError),
    /// The keyring could not give it, and neither could the fallback source.
    #[error("{keyring}; the fallback failed too: {fallback}")]
    KeyringAndFallback {
        keyring: super::KeyringError,
        fallback: Box<CredentialError>,
    },
}

/// Kill the process groups of every `<field>_command` still running (shipdeck is ending: a
/// signal, or the end of `main`).
pub fn kill_running_commands() {
    groups::kill_all();
}

/// The process groups of running `<field>_command`s.
mod groups {
    use std::sync::Mutex;

    static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

    /// A live group, killed (SIGKILL to the whole group) on drop.
    pub(super) struct Group(u32);

    /// Set once shipdeck is ending: no command starts after its groups were killed.
    static ENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// Start `command` and register its group in one step under the registry's lock, so that
    /// `kill_all` (a signal arriving meanwhile) waits for it and kills it too.
    pub(super) fn spawn(
        command: &mut tokio::process::Command,
    ) -> std::io::Result<(tokio::process::Child, Option<Group>)> {
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        if ENDING.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::other("shipdeck is ending"));
        }
        let child = command.spawn()?;
        let group = child.id().map(|pgid| {
            live.push(pgid);
            Group(pgid)
        });
        Ok((child, group))
    }

    impl Drop for Group {
        fn drop(&mut self) {
            LIVE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|p| *p != self.0);
            kill_group(self.0);
        }
    }

    pub(super) fn kill_all() {
        let mut guard = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        ENDING.store(true, std::sync::atomic::Ordering::SeqCst);
        let live = std::mem::take(&mut *guard);
        drop(guard);
        for pgid in live {
            kill_group(pgid);
        }
    }

    #[cfg(unix)]
    fn kill_group(pgid: u32) {
        let Ok(pgid) = i32::try_from(pgid) else {
            return;
        };
        if pgid <= 1 {
            return;
        }
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names the group
        // this command was started in (`process_group(0)`), never shipdeck's own.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }

    #[cfg(not(unix))]
    fn kill_group(_pgid: u32) {}
}

/// How long a `<field>_command` may take (a password manager may ask for a PIN).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

impl Credential {
    /// Resolve the secret now. Commands run each time, so a rotated password is picked up on
    /// re-login. The value is registered with the redactor (`crate::safe`), so a server that
    /// echoes it back never gets it shown.
    pub async fn resolve(&self) -> Result<SecretString, CredentialError> {
        let secret = self.resolve_unregistered().await?;
        crate::safe::register_secret(&secret);
        Ok(secret)
    }

    /// [`resolve`](Self::resolve) for the password of `username`. A password equal to the
    /// user name (the simulator's accounts) hides nothing that is not shown anyway: it is
    /// not registered, so the user's name is not redacted wherever it appears.
    pub async fn resolve_password(&self, username: &str) -> Result<SecretString, CredentialError> {
        use secrecy::ExposeSecret;
        let secret = self.resolve_unregistered().await?;
        if secret.expose_secret() != username {
            crate::safe::register_secret(&secret);
        }
        Ok(secret)
    }

    async fn resolve_unregistered(&self) -> Result<SecretString, CredentialError> {
        match self {
            Credential::Keyring {
                entry,
                field,
                fallback,
            } => {
                let got = super::os_keyring::read(entry, field).await;
                self.keyring_or_fallback(got, fallback.as_deref()).await
            }
            Credential::Inline(s) => Ok(s.clone()),
            Credential::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
                _ => Err(CredentialError::EnvMissing(var.clone())),
            },
            Credential::Command(cmd) => {
                let fail = |detail: String| CredentialError::CommandFailed {
                    command: cmd.clone(),
                    detail,
                };
                let mut command = tokio::process::Command::new("sh");
                command
                    .arg("-c")
                    .arg(cmd)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .kill_on_drop(true);
                // Its own process group, so that what it started ends with it.
                #[cfg(unix)]
                command.process_group(0);
                // Ended (the whole group) when this future ends: done, timed out or dropped.
                let (child, _group) =
                    groups::spawn(&mut command).map_err(|e| fail(e.to_string()))?;
                let out = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
                    .await
                    .map_err(|_| fail(format!("no answer in {}s", COMMAND_TIMEOUT.as_secs())))?
                    .map_err(|e| fail(e.to_string()))?;
                if !out.status.success() {
                    // stderr of a password manager is safe to show; stdout might hold the secret.
                    let err = String::from_utf8_lossy(&out.stderr);
                    let first = err.lines().next().unwrap_or("").trim();
                    return Err(fail(format!("{} {}", out.status, first).trim().to_string()));
                }
                let text = String::from_utf8_lossy(&out.stdout);
                let secret = text.trim_end_matches(['\n', '\r']);
                if secret.is_empty() {
                    return Err(CredentialError::CommandEmpty(cmd.clone()));
                }
                Ok(SecretString::from(secret.to_string()))
            }
        }
    }

    /// The keyring's answer, or the fallback's when the keyring had none.
    async fn keyring_or_fallback(
        &self,
        got: Result<SecretString, super::KeyringError>,
        fallback: Option<&Credential>,
    ) -> Result<SecretString, CredentialError> {
        let keyring = match got {
            Ok(secret) => return Ok(secret),
            Err(e) => e,
        };
        let Some(next) = fallback else {
            return Err(keyring.into());
        };
        tracing::info!("{keyring}; using {} instead", next.source());
        Box::pin(next.resolve_unregistered()).await.map_err(|e| {
            CredentialError::KeyringAndFallback {
                keyring,
                fallback: Box::new(e),
            }
        })
    }

    /// [`resolve`](Self::resolve) of a `Keyring` credential with the entry made by `make` (a
    /// mock store in tests): the same timeout, fallback and redaction as the real one.
    #[cfg(test)]
    pub(crate) async fn resolve_keyring_with<F>(
        &self,
        make: F,
        timeout: Duration,
    ) -> Result<SecretString, CredentialError>
    where
        F: FnOnce() -> keyring::Result<keyring::Entry> + Send + 'static,
    {
        let Credential::Keyring {
            entry,
            field,
            fallback,
        } = self
        else {
            return self.resolve().await;
        };
        let got = super::os_keyring::read_with(make, entry, field, timeout).await;
        let secret = self.keyring_or_fallback(got, fallback.as_deref()).await?;
        crate::safe::register_secret(&secret);
        Ok(secret)
    }

    /// The environment variable this reads (itself, or a keyring's fallback), for
    /// `config check`'s warnings.
    pub fn env_var(&self) -> Option<&str> {
        match self {
            Credential::Env(var) => Some(var),
            Credential::Keyring {
                fallback: Some(next),
                ..
            } => next.env_var(),
            _ => None,
        }
    }

    /// Why a `Keyring` credential cannot be read on this host, when that is known without
    /// asking the keyring (no D-Bus session); `None` otherwise.
    pub fn keyring_unreachable(&self) -> Option<super::KeyringError> {
        match self {
            Credential::Keyring { field, .. } => {
                super::os_keyring::unreachable_reason().map(|reason| {
                    super::KeyringError::Unreachable {
                        field: field.clone(),
                        reason,
                    }
                })
            }
            _ => None,
        }
    }

    /// Where it comes from, for `shipdeck profiles` (never the value).
    pub fn source(&self) -> String {
        match self {
            Credential::Env(v) => format!("${v}"),
            Credential::Command(c) => format!("`{c}`"),
            Credential::Inline(_) => "inline".to_string(),
            Credential::Keyring {
                entry, fallback, ..
            } => match fallback {
                Some(next) => format!("keyring {entry}, else {}", next.source()),
                None => format!("keyring {entry}"),
            },
        }
    }
}
