//! Themes as TOML data: the built-in ones are embedded, files in `<config dir>/themes/` add or
//! override by name.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;

const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
    ("red-prod", include_str!("../../themes/red-prod.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    mono: bool,
    accent: String,
    text: String,
    dim: String,
    border: String,
    border_focus: String,
    selection_bg: String,
    selection_fg: String,
    header_bg: String,
    header_fg: String,
    ok: String,
    fail: String,
    running: String,
    queued: String,
    cancelled: String,
    warn: String,
    error: String,
    badge_fg: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    /// No colours: emphasis by modifiers only.
    pub mono: bool,
    pub accent: Color,
    pub text: Color,
    pub dim: Color,
    pub border: Color,
    pub border_focus: Color,
    pub selection_bg: Color,
    pub selection_fg: Color,
    pub header_bg: Color,
    pub header_fg: Color,
    pub ok: Color,
    pub fail: Color,
    pub running: Color,
    pub queued: Color,
    pub cancelled: Color,
    pub warn: Color,
    pub error: Color,
    pub badge_fg: Color,
}

/// What `get` draws with if even `dark` were missing: the terminal's own colours, emphasis by
/// modifiers (the `mono` look).
static FALLBACK: Theme = Theme {
    name: String::new(),
    mono: true,
    accent: Color::Reset,
    text: Color::Reset,
    dim: Color::Reset,
    border: Color::Reset,
    border_focus: Color::Reset,
    selection_bg: Color::Reset,
    selection_fg: Color::Reset,
    header_bg: Color::Reset,
    header_fg: Color::Reset,
    ok: Color::Reset,
    fail: Color::Reset,
    running: Color::Reset,
    queued: Color::Reset,
    cancelled: Color::Reset,
    warn: Color::Reset,
    error: Color::Reset,
    badge_fg: Color::Reset,
};

fn color(field: &str, v: &str) -> Result<Color, String> {
    Color::from_str(v).map_err(|_| {
        format!(
            "`{field} = \"{v}\"` is not a colour; use a name (red), \"reset\", \"#rrggbb\" or 0-255"
        )
    })
}

impl Theme {
    pub fn parse(name: &str, text: &str) -> Result<Theme, String> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Ok(Theme {
            name: name.to_string(),
            mono: f.mono,
            accent: color("accent", &f.accent)?,
            text: color("text", &f.text)?,
            dim: color("dim", &f.dim)?,
            border: color("border", &f.border)?,
            border_focus: color("border_focus", &f.border_focus)?,
            selection_bg: color("selection_bg", &f.selection_bg)?,
            selection_fg: color("selection_fg", &f.selection_fg)?,
            header_bg: color("header_bg", &f.header_bg)?,
            header_fg: color("header_fg", &f.header_fg)?,
            ok: color("ok", &f.ok)?,
            fail: color("fail", &f.fail)?,
            running: color("running", &f.running)?,
            queued: color("queued", &f.queued)?,
            cancelled: color("cancelled", &f.cancelled)?,
            warn: color("warn", &f.warn)?,
            error: color("error", &f.error)?,
            badge_fg: color("badge_fg", &f.badge_fg)?,
        })
    }

    pub fn fg(&self, c: Color) -> Style {
        Style::new().fg(c)
    }

    pub(crate) fn dim(&self) -> Style {
        if self.mono {
            Style::new().add_modifier(Modifier::DIM)
        } else {
            Style::new().fg(self.dim)
        }
    }

    pub fn selection(&self) -> Style {
        if self.mono {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
                .bg(self.selection_bg)
                .fg(self.selection_fg)
                .add_modifier(Modifier::BOLD)
        }
    }

    /// A solid badge (READ-ONLY, the app name): coloured background, or reverse video in mono.
    pub fn badge(&self, bg: Color) -> Style {
        if self.mono {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
                .bg(bg)
                .fg(self.badge_fg)
                .add_modifier(Modifier::BOLD)
        }
    }

    pub fn header(&self) -> Style {
        Style::new().bg(self.header_bg).fg(self.header_fg)
    }
}

/// All themes known: built-in plus user files.
pub struct Themes {
    themes: BTreeMap<String, Theme>,
    /// Problems with user theme files, shown once in the dashboard.
    pub problems: Vec<String>,
}

impl Themes {
    pub fn builtin() -> Themes {
        // Built-in themes are valid (a unit test parses each); one that were not would be left
        // out and `get` falls back to the plain default.
        let themes = BUILT_IN
            .iter()
            .filter_map(|(n, t)| Some((n.to_string(), Theme::parse(n, t).ok()?)))
            .collect();
        Themes {
            themes,
            problems: Vec::new(),
        }
    }

    /// Built-ins plus `*.toml` files in `dir` (a missing directory is fine).
    pub fn load(dir: Option<&std::path::Path>) -> Themes {
        let mut t = Themes::builtin();
        let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else {
            return t;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("toml") {
                continue;
            }
            let Some(name) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| Theme::parse(&name, &text))
            {
                Ok(theme) => {
                    t.themes.insert(name, theme);
                }
                Err(e) => t.problems.push(format!("theme {}: {e}", path.display())),
            }
        }
        t
    }

    pub fn names(&self) -> Vec<String> {
        self.themes.keys().cloned().collect()
    }

    /// The named theme, or `dark` when there is no such theme.
    pub fn get(&self, name: &str) -> &Theme {
        self.themes
            .get(name)
            .or_else(|| self.themes.get("dark"))
            .unwrap_or(&FALLBACK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse() {
        let t = Themes::builtin();
        assert_eq!(t.names().len(), BUILT_IN.len());
        assert!(t.get("mono").mono);
        assert_eq!(t.get("nope").name, "dark");
    }

    #[test]
    fn bad_colour_is_named() {
        let text = include_str!("../../themes/dark.toml").replace("#89b4fa", "blurple");
        let err = Theme::parse("x", &text).unwrap_err();
        assert!(err.contains("blurple"), "{err}");
    }
}
