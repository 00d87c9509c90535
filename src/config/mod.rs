//! The config file (SPEC §3): where it lives, what it may say, and every problem with its line.

mod credential;
mod os_keyring;
mod validate;

pub use credential::{Credential, CredentialError, kill_running_commands};
pub use os_keyring::{KEYRING_TIMEOUT, KeyringEntry, KeyringError};

use crate::domain::Kind;
use std::path::{Path, PathBuf};

/// Default polling interval for lists that change.
pub(crate) const DEFAULT_REFRESH_SECS: u64 = 5;
/// Default per-request timeout.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 15;
/// Default number of log lines kept in memory per log view.
pub(crate) const DEFAULT_LOG_BUFFER_LINES: usize = 100_000;

#[derive(Clone, Debug)]
pub struct Config {
    /// The file this came from (`None` for the demo's built-in config).
    pub path: Option<PathBuf>,
    pub default_profile: Option<String>,
    pub theme: Option<String>,
    pub refresh_secs: u64,
    pub log_buffer_lines: usize,
    /// Clicks, double-clicks and the wheel (`mouse = false`: the terminal's own selection).
    pub mouse: bool,
    /// `[keys]` overrides: action name → key, with the line for error messages.
    pub keys: Vec<KeyOverride>,
    /// In file order.
    pub profiles: Vec<Profile>,
    /// Every `theme = "…"` of the file (top level and profiles) with where it is, for
    /// `config check` to name unknown ones (themes are files, so not checked while parsing).
    pub theme_uses: Vec<ThemeUse>,
    /// `[diff]`: what the log diff ignores.
    pub diff: DiffConfig,
    /// `[[views]]`: saved views, in file order (tabs `8`, `9`, `0` and `:view <name>`).
    pub views: Vec<View>,
}

/// `[diff]` of the config: rules that extend or replace the built-in normalisation rules.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffConfig {
    /// Lines of context around a change.
    pub context: usize,
    /// Whether the built-in rules apply (a config rule of the same name replaces one).
    pub defaults: bool,
    /// `ignore = [...]` (each match becomes `…`) and `rules = [{ name, regex, replace }]`.
    pub rules: Vec<crate::logdiff::RuleSpec>,
}

impl Default for DiffConfig {
    fn default() -> DiffConfig {
        DiffConfig {
            context: crate::logdiff::DEFAULT_CONTEXT,
            defaults: true,
            rules: Vec::new(),
        }
    }
}

impl DiffConfig {
    /// The rules in force.
    pub fn rules(&self) -> Vec<crate::logdiff::RuleSpec> {
        crate::logdiff::rules::merge(self.defaults, &self.rules)
    }
}

/// A saved view: a pane, optionally on a profile, with a filter and a sort.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub name: String,
    pub pane: crate::domain::Resource,
    /// Switch to this profile first (`None`: the one on screen).
    pub profile: Option<String>,
    /// As typed after `/` (parsed when the config is read; empty: no filter).
    pub filter: String,
    pub sort: Option<ViewSort>,
    /// Line of its `[[views]]` header.
    pub line: usize,
}

/// A view's sort: one of the columns a backend may sort on, and the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewSort {
    pub field: &'static str,
    pub ascending: bool,
}

/// A `theme = "…"` and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct ThemeUse {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyOverride {
    pub action: String,
    pub key: String,
    pub line: usize,
}

/// How a watched item that ended is announced (`notify = "…"` in a profile): the terminal
/// bell, a desktop notification (OSC 9 / OSC 777), both, or neither (the toast always shows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Notify {
    Bell,
    Desktop,
    #[default]
    Both,
    None,
}

impl Notify {
    pub const NAMES: [&'static str; 4] = ["bell", "desktop", "both", "none"];

    pub fn parse(s: &str) -> Option<Notify> {
        Some(match s {
            "bell" => Notify::Bell,
            "desktop" => Notify::Desktop,
            "both" => Notify::Both,
            "none" => Notify::None,
            _ => return None,
        })
    }

    pub fn bell(self) -> bool {
        matches!(self, Notify::Bell | Notify::Both)
    }

    pub fn desktop(self) -> bool {
        matches!(self, Notify::Desktop | Notify::Both)
    }
}

/// An Aviator release project and its environments in promotion order.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseProject {
    pub name: String,
    pub environments: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub kind: Kind,
    /// Complete base URL; routes are appended verbatim.
    pub url: url::Url,
    pub username: Option<String>,
    pub password: Option<Credential>,
    pub api_key: Option<Credential>,
    pub token: Option<Credential>,
    pub runner_url: Option<url::Url>,
    pub runner_token: Option<Credential>,
    pub route_prefix: Option<String>,
    pub projects: Vec<ReleaseProject>,
    pub protected_environments: Vec<String>,
    pub read_only: bool,
    pub theme: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub timeout_secs: u64,
    /// Bounds for walking every page of a list (`max_pages`, `max_rows`).
    pub paging: crate::api::paging::Limits,
    /// Base of the system's web UI when it is not the API's host (`o` opens items there).
    pub web_url: Option<url::Url>,
    /// How a watched item that ends is announced.
    pub notify: Notify,
    /// Line of the `[profiles.<name>]` header, for messages about the profile as a whole.
    pub line: usize,
}

impl Profile {
    /// A minimal profile; the rest at defaults. Used by the demo and tests.
    pub fn new(name: &str, kind: Kind, url: url::Url) -> Profile {
        Profile {
            name: name.to_string(),
            kind,
            url,
            username: None,
            password: None,
            api_key: None,
            token: None,
            runner_url: None,
            runner_token: None,
            route_prefix: None,
            projects: Vec::new(),
            protected_environments: Vec::new(),
            read_only: false,
            theme: None,
            ca_file: None,
            insecure: false,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            paging: Default::default(),
            web_url: None,
            notify: Notify::default(),
            line: 0,
        }
    }
}

/// One problem in a config file, with where it is and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every problem found in one file.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                p.line,
                p.column,
                p.message
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// An empty config (no file): the dashboard shows its first-run screen.
    pub fn empty(path: Option<PathBuf>) -> Config {
        Config {
            path,
            default_profile: None,
            theme: None,
            mouse: true,
            refresh_secs: DEFAULT_REFRESH_SECS,
            log_buffer_lines: DEFAULT_LOG_BUFFER_LINES,
            keys: Vec::new(),
            profiles: Vec::new(),
            theme_uses: Vec::new(),
            diff: DiffConfig::default(),
            views: Vec::new(),
        }
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile to open: `--profile` / `SHIPDECK_PROFILE`, else `default_profile`, else the
    /// first one in the file.
    pub fn pick_profile(&self, wanted: Option<&str>) -> Result<Option<&Profile>, String> {
        let name = wanted.or(self.default_profile.as_deref());
        match name {
            Some(n) => self.profile(n).map(Some).ok_or_else(|| {
                let known: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
                if known.is_empty() {
                    format!("no profile named `{n}`: the config defines no profiles")
                } else {
                    format!(
                        "no profile named `{n}`; the config defines: {}",
                        known.join(", ")
                    )
                }
            }),
            None => Ok(self.profiles.first()),
        }
    }

    /// Parse config text. `private` says whether the file is readable only by its owner, which
    /// is the condition for inline secrets.
    pub fn parse(text: &str, path: &Path, private: bool) -> Result<Config, ConfigError> {
        validate::parse(text, path, private)
    }

    /// Load the file at `path`. A missing file is `Ok(None)`, not an error.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ConfigError {
                    path: path.to_path_buf(),
                    problems: vec![Problem {
                        line: 0,
                        column: 0,
                        message: format!("cannot read the file: {e}"),
                    }],
                });
            }
        };
        Config::parse(&text, path, is_private(path)).map(Some)
    }
}

/// Whether group and others have no access to the file.
pub(crate) fn is_private(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o077 == 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// The platform's config file path: `$XDG_CONFIG_HOME/shipdeck/config.toml` on Linux.
pub(crate) fn default_path() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("config.toml"))
}

/// The platform's directories for shipdeck.
pub fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "shipdeck")
}

/// Where logs go: the state directory (falls back to the cache directory on platforms without one).
pub fn state_dir() -> Option<PathBuf> {
    dirs().map(|d| {
        d.state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| d.cache_dir().to_path_buf())
    })
}

/// An example config, shown on the first-run screen and printed by `shipdeck simulate`.
pub(crate) const EXAMPLE: &str = r#"default_profile = "ci"
theme = "dark"
refresh_secs = 5

[profiles.ci]
kind = "freecommit"
url = "https://ci.example.com/api-free-commit"
username = "alice"
password_command = "pass show ci/alice"
"#;
