//! `<field>_keyring = "<service>/<account>"`: a secret read from the OS keyring (the Secret
//! Service over D-Bus on Linux and the BSDs, the login keychain on macOS).
//!
//! The keyring may be absent (a headless SSH host has no D-Bus session) or may prompt to
//! unlock: the read runs on its own thread and is given [`KEYRING_TIMEOUT`]; past it shipdeck
//! goes on without it (the thread is left to end by itself and never holds up exit).

use secrecy::SecretString;
use std::time::Duration;

/// How long the keyring may take to answer (it may be asking the user to unlock it).
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// Where in the keyring a secret is: the `service` and `account` (user name) of the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyringEntry {
    pub service: String,
    pub account: String,
}

impl KeyringEntry {
    /// `"<service>/<account>"`. The service is everything before the first `/` (so an account
    /// may contain `/`); neither part may be empty or have spaces around it.
    pub fn parse(text: &str) -> Result<KeyringEntry, String> {
        let fix = "write it as \"<service>/<account>\", e.g. \"shipdeck/alice\"";
        let Some((service, account)) = text.split_once('/') else {
            return Err(format!("`{text}` has no `/`; {fix}"));
        };
        if service.trim().is_empty() || account.trim().is_empty() {
            return Err(format!(
                "`{text}` needs both a service and an account; {fix}"
            ));
        }
        if service.trim() != service || account.trim() != account {
            return Err(format!(
                "`{text}` has spaces around the service or account; {fix}"
            ));
        }
        Ok(KeyringEntry {
            service: service.to_string(),
            account: account.to_string(),
        })
    }
}

impl std::fmt::Display for KeyringEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.service, self.account)
    }
}

/// Why the keyring did not give the secret. The texts name the entry, never a value.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum KeyringError {
    #[error("no keyring reachable ({reason}): set {field}_env or {field}_command instead")]
    Unreachable { field: String, reason: String },
    #[error(
        "the keyring did not answer in {secs}s (is it locked and asking to be unlocked?): \
         unlock it and retry, or set {field}_env or {field}_command instead"
    )]
    TimedOut { field: String, secs: u64 },
    #[error(
        "the keyring is locked: unlock it and retry, or set {field}_env or {field}_command instead"
    )]
    Locked { field: String },
    #[error("no `{entry}` entry in the keyring: add it with `{how}`")]
    NoEntry { entry: String, how: String },
    #[error("the keyring refused `{entry}`: {reason}")]
    Failed { entry: String, reason: String },
}

/// How a user adds `entry` on this system (the command asks for the secret).
fn how_to_add(entry: &KeyringEntry) -> String {
    let (s, a) = (&entry.service, &entry.account);
    if cfg!(target_os = "macos") {
        format!("security add-generic-password -s '{s}' -a '{a}' -w")
    } else {
        format!("secret-tool store --label=shipdeck service '{s}' username '{a}'")
    }
}

/// Read `entry` for the secret field `field` from the OS keyring.
pub async fn read(entry: &KeyringEntry, field: &str) -> Result<SecretString, KeyringError> {
    if let Some(reason) = unreachable_reason() {
        return Err(KeyringError::Unreachable {
            field: field.to_string(),
            reason,
        });
    }
    let (service, account) = (entry.service.clone(), entry.account.clone());
    read_with(
        move || keyring::Entry::new(&service, &account),
        entry,
        field,
        KEYRING_TIMEOUT,
    )
    .await
}

/// [`read`] with the entry made by `make` (the real store, or a mock in tests) and a given
/// time limit.
pub async fn read_with<F>(
    make: F,
    entry: &KeyringEntry,
    field: &str,
    timeout: Duration,
) -> Result<SecretString, KeyringError>
where
    F: FnOnce() -> keyring::Result<keyring::Entry> + Send + 'static,
{
    // A read still waiting (an unlock prompt left open) is not asked again: no second prompt,
    // and no 3 s wait on every request meanwhile.
    let Some(pending) = Pending::start(entry) else {
        return Err(KeyringError::TimedOut {
            field: field.to_string(),
            secs: timeout.as_secs().max(1),
        });
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A plain thread, not `spawn_blocking`: a keyring that never answers must not hold up the
    // runtime's shutdown. The store's client (zbus) runs its own small runtime on it.
    let spawned = std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let got = make().and_then(|e| e.get_password());
            drop(pending);
            let _ = tx.send(got);
        });
    if let Err(e) = spawned {
        return Err(KeyringError::Failed {
            entry: entry.to_string(),
            reason: format!("could not start the keyring thread: {e}"),
        });
    }
    let got = match tokio::time::timeout(timeout, rx).await {
        Err(_) => {
            return Err(KeyringError::TimedOut {
                field: field.to_string(),
                secs: timeout.as_secs().max(1),
            });
        }
        Ok(Err(_)) => {
            return Err(KeyringError::Failed {
                entry: entry.to_string(),
                reason: "the keyring client stopped without an answer".into(),
            });
        }
        Ok(Ok(got)) => got,
    };
    match got {
        Ok(secret) if secret.is_empty() => Err(KeyringError::Failed {
            entry: entry.to_string(),
            reason: "the stored secret is empty".into(),
        }),
        Ok(secret) => Ok(SecretString::from(secret)),
        Err(e) => Err(map_error(e, entry, field)),
    }
}

/// The entries being read right now (`service/account`); one is removed when its read ends.
struct Pending(String);

static PENDING: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

impl Pending {
    /// `None` when `entry` is being read already.
    fn start(entry: &KeyringEntry) -> Option<Pending> {
        let key = entry.to_string();
        let mut live = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        if live.contains(&key) {
            return None;
        }
        live.push(key.clone());
        Some(Pending(key))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k| *k != self.0);
    }
}

fn map_error(e: keyring::Error, entry: &KeyringEntry, field: &str) -> KeyringError {
    use keyring::Error as E;
    match e {
        E::NoEntry => KeyringError::NoEntry {
            entry: entry.to_string(),
            how: how_to_add(entry),
        },
        // The store is there but will not open (the Secret Service says `IsLocked`).
        E::NoStorageAccess(cause) => {
            tracing::info!(entry = %entry, "keyring locked: {cause}");
            KeyringError::Locked {
                field: field.to_string(),
            }
        }
        E::PlatformFailure(cause) if cause.to_string().contains("IsLocked") => {
            tracing::info!(entry = %entry, "keyring locked: {cause}");
            KeyringError::Locked {
                field: field.to_string(),
            }
        }
        E::PlatformFailure(cause) => {
            tracing::info!(entry = %entry, "keyring not reachable: {cause}");
            KeyringError::Unreachable {
                field: field.to_string(),
                reason: short(&cause.to_string()),
            }
        }
        // Never `BadEncoding`'s bytes: they are the secret.
        E::BadEncoding(_) => KeyringError::Failed {
            entry: entry.to_string(),
            reason: "the stored secret is not UTF-8 text".into(),
        },
        E::Ambiguous(items) => KeyringError::Failed {
            entry: entry.to_string(),
            reason: format!(
                "{} entries match; keep one (or give them different accounts)",
                items.len()
            ),
        },
        other => KeyringError::Failed {
            entry: entry.to_string(),
            reason: short(&other.to_string()),
        },
    }
}

/// The first line of a store's error, at most 120 characters (cut on a char boundary).
fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut out: String = line.chars().take(120).collect();
    if line.chars().count() > 120 {
        out.push('…');
    }
    if out.is_empty() {
        "unknown error".into()
    } else {
        out
    }
}

/// Why no keyring can be reached, when that is known without asking it: shipdeck has no
/// keyring support on this system, or (Secret Service) there is no D-Bus session bus at all.
pub(super) fn unreachable_reason() -> Option<String> {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd"
    )) {
        no_session_bus(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS"),
            std::env::var_os("XDG_RUNTIME_DIR"),
        )
        .then(|| "no D-Bus session".to_string())
    } else if cfg!(target_os = "macos") {
        None
    } else {
        Some("shipdeck has no keyring support on this system".to_string())
    }
}

/// No session bus address and no `$XDG_RUNTIME_DIR/bus` socket (where the D-Bus client looks
/// when the address is not set).
fn no_session_bus(
    address: Option<std::ffi::OsString>,
    runtime_dir: Option<std::ffi::OsString>,
) -> bool {
    if address.is_some_and(|a| !a.is_empty()) {
        return false;
    }
    !runtime_dir
        .filter(|d| !d.is_empty())
        .is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn mock_entry(password: Option<&str>) -> keyring::Entry {
        let builder = keyring::mock::default_credential_builder();
        let cred = builder.build(None, "shipdeck-test", "alice").unwrap();
        let entry = keyring::Entry::new_with_credential(cred);
        if let Some(p) = password {
            entry.set_password(p).unwrap();
        }
        entry
    }

    /// An entry of its own per test: reads of one entry are not run side by side.
    fn entry(account: &str) -> KeyringEntry {
        KeyringEntry::parse(&format!("shipdeck-test/{account}")).unwrap()
    }

    #[test]
    fn parse_takes_service_and_account() {
        let e = KeyringEntry::parse("ci.example.com/alice/ops").unwrap();
        assert_eq!(e.service, "ci.example.com");
        assert_eq!(e.account, "alice/ops");
        assert_eq!(e.to_string(), "ci.example.com/alice/ops");
        for bad in ["alice", "/alice", "svc/", " svc/alice", "svc/alice ", "/"] {
            let err = KeyringEntry::parse(bad).unwrap_err();
            assert!(err.contains("<service>/<account>"), "{bad}: {err}");
        }
    }

    #[tokio::test]
    async fn a_stored_value_is_read_from_the_mock_store_and_redacted() {
        let value = "kr-mock-secret-7d1f";
        let stored = mock_entry(Some(value));
        let cred = crate::config::Credential::Keyring {
            entry: entry("redacted"),
            field: "password".into(),
            fallback: None,
        };
        let got = cred
            .resolve_keyring_with(move || Ok(stored), KEYRING_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(got.expose_secret(), value);
        let said = format!("server said: bad password {value}");
        let shown = crate::safe::redact(&said);
        assert!(shown.contains(crate::safe::REDACTED), "{shown}");
        assert!(!shown.contains(value), "{shown}");
    }

    #[tokio::test]
    async fn the_keyring_comes_first_and_the_other_source_after_it() {
        let cred = crate::config::Credential::Keyring {
            entry: entry("first"),
            field: "token".into(),
            fallback: Some(Box::new(crate::config::Credential::Inline(
                SecretString::from("kr-fallback-value-51aa"),
            ))),
        };
        let stored = mock_entry(Some("kr-keyring-value-0b3c"));
        let got = cred
            .resolve_keyring_with(move || Ok(stored), KEYRING_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(got.expose_secret(), "kr-keyring-value-0b3c");

        // No entry: the other source, registered with the redactor like any secret.
        let got = cred
            .resolve_keyring_with(|| Ok(mock_entry(None)), KEYRING_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(got.expose_secret(), "kr-fallback-value-51aa");
        let said = "echo kr-fallback-value-51aa".to_string();
        assert!(!crate::safe::redact(&said).contains("kr-fallback-value-51aa"));
        assert_eq!(
            cred.source(),
            "keyring shipdeck-test/first, else inline",
            "never the value"
        );
    }

    #[tokio::test]
    async fn a_missing_entry_says_how_to_add_it() {
        let e = read_with(
            || Ok(mock_entry(None)),
            &entry("alice"),
            "token",
            KEYRING_TIMEOUT,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, KeyringError::NoEntry { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("shipdeck-test/alice"), "{msg}");
        assert!(
            msg.contains("service 'shipdeck-test' username 'alice'")
                || msg.contains("-s 'shipdeck-test' -a 'alice'"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn a_locked_store_says_so_and_names_the_other_sources() {
        let e = read_with(
            || {
                let entry = mock_entry(Some("x"));
                let mock: &keyring::mock::MockCredential =
                    entry.get_credential().downcast_ref().unwrap();
                mock.set_error(keyring::Error::NoStorageAccess(
                    "collection is locked".into(),
                ));
                Ok(entry)
            },
            &entry("locked"),
            "api_key",
            KEYRING_TIMEOUT,
        )
        .await
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the keyring is locked: unlock it and retry, or set api_key_env or api_key_command instead"
        );
    }

    #[tokio::test]
    async fn a_failing_store_is_unreachable_with_its_reason() {
        let e = read_with(
            || {
                let entry = mock_entry(Some("x"));
                let mock: &keyring::mock::MockCredential =
                    entry.get_credential().downcast_ref().unwrap();
                mock.set_error(keyring::Error::PlatformFailure(
                    "no secret service provider\nsecond line".into(),
                ));
                Ok(entry)
            },
            &entry("failing"),
            "token",
            KEYRING_TIMEOUT,
        )
        .await
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no keyring reachable (no secret service provider): set token_env or token_command instead"
        );
    }

    #[tokio::test]
    async fn a_keyring_that_never_answers_times_out_and_is_not_asked_twice() {
        let slow = KeyringEntry::parse("shipdeck-test/slow").unwrap();
        let (hold, wait) = std::sync::mpsc::channel::<()>();
        let (asked_tx, asked) = std::sync::mpsc::channel::<()>();
        let started = std::time::Instant::now();
        let e = read_with(
            move || {
                // Blocks until the sender is dropped (an unlock prompt left open).
                let _ = wait.recv();
                Ok(mock_entry(Some("late")))
            },
            &slow,
            "password",
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, KeyringError::TimedOut { .. }), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(e.to_string().contains("password_env"), "{e}");

        // While that read still waits, the entry is not asked again: an answer at once.
        let again = std::time::Instant::now();
        let e = read_with(
            move || {
                let _ = asked_tx.send(());
                Ok(mock_entry(Some("x")))
            },
            &slow,
            "password",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, KeyringError::TimedOut { .. }), "{e:?}");
        assert!(again.elapsed() < Duration::from_secs(1));
        assert!(asked.try_recv().is_err(), "the keyring was asked twice");

        // Once it ends, the entry is read again.
        drop(hold);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = read_with(
                || Ok(mock_entry(Some("kr-after-unlock-9c2e"))),
                &slow,
                "password",
                Duration::from_secs(5),
            )
            .await;
            match got {
                Ok(s) => {
                    assert_eq!(s.expose_secret(), "kr-after-unlock-9c2e");
                    break;
                }
                Err(e) => assert!(std::time::Instant::now() < deadline, "still {e:?}"),
            }
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn the_session_bus_is_missing_only_without_address_and_socket() {
        let dir = tempfile::tempdir().unwrap();
        let d = Some(dir.path().as_os_str().to_owned());
        assert!(no_session_bus(None, None));
        assert!(no_session_bus(Some("".into()), d.clone()));
        assert!(!no_session_bus(Some("unix:path=/x".into()), None));
        std::fs::write(dir.path().join("bus"), b"").unwrap();
        assert!(!no_session_bus(None, d));
    }

    #[test]
    fn a_long_store_error_is_cut_on_a_char_boundary() {
        let s = short(&"é".repeat(300));
        assert_eq!(s.chars().count(), 121);
        assert_eq!(short("first\nsecond"), "first");
    }
}
