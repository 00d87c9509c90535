//! Keys → actions, as data. Help and the footer are generated from the same table, and
//! `[keys]` in the config rebinds by action name.

use super::action::Action;
use crate::config::KeyOverride;
use crate::domain::Resource;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key chord.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }
    const fn ch(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }
    const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    /// Whether a terminal key event is this chord. Shift is implied by upper-case letters and
    /// symbols, so it only counts for named keys (Shift-Tab arrives as BackTab anyway).
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let mut mods = ev.modifiers;
        if matches!(ev.code, KeyCode::Char(_)) {
            mods.remove(KeyModifiers::SHIFT);
        }
        let code = match ev.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            c => c,
        };
        code == self.code && mods == self.mods
    }

    /// Parse `ctrl-d`, `G`, `enter`, `shift-tab`, `pgdn`, `f5`, `space`, `?`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("c-")) {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or(lower.strip_prefix("m-")) {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                mods |= KeyModifiers::SHIFT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.starts_with('f') && f.len() > 1 && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }),
                    _ => {
                        return Err(format!(
                            "`{s}` is not a key; write e.g. \"x\", \"G\", \"ctrl-d\", \"enter\", \"pgdn\", \"f5\""
                        ));
                    }
                }
            }
        };
        if matches!(code, KeyCode::Char(_)) {
            mods.remove(KeyModifiers::SHIFT);
        }
        Ok(Key { code, mods })
    }

    pub(crate) fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Enter => "⏎".to_string(),
            KeyCode::Esc => "esc".to_string(),
            KeyCode::Tab => "tab".to_string(),
            KeyCode::BackTab => "S-tab".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::Home => "home".to_string(),
            KeyCode::End => "end".to_string(),
            KeyCode::PageUp => "pgup".to_string(),
            KeyCode::PageDown => "pgdn".to_string(),
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("C-{base}")
        } else if self.mods.contains(KeyModifiers::ALT) {
            format!("M-{base}")
        } else {
            base
        }
    }
}

/// Which help section shows a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Global,
    Navigation,
    List,
    Log,
    /// Keys of a popup (confirm, form, palette, filter, picker, help, first run).
    Popup,
}

/// The layer a binding belongs to. The router asks only the layers that are visible, top
/// first: an overlay (one of the popup contexts) → the log viewer → the pane (`List`) →
/// everywhere (`Any`). The same key may mean different things in different layers (`s`: sort
/// a list, save a log; `y`: yes in a confirmation, copy in a log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    Any,
    List,
    Log,
    Confirm,
    Form,
    Palette,
    Filter,
    Picker,
    Help,
    FirstRun,
    /// `:watching`.
    Watching,
}

impl Ctx {
    /// How help titles the layer.
    pub fn title(self) -> &'static str {
        match self {
            Ctx::Any => "Everywhere",
            Ctx::List => "This pane",
            Ctx::Log => "Log viewer",
            Ctx::Confirm => "Confirmation",
            Ctx::Form => "Form",
            Ctx::Palette => "Command palette",
            Ctx::Filter => "Filter / search",
            Ctx::Picker => "Picker",
            Ctx::Help => "Help",
            Ctx::FirstRun => "Welcome",
            Ctx::Watching => "Watching",
        }
    }

    /// Layers below which global keys still work (a popup is modal: only its own keys and
    /// Ctrl-c reach anything).
    pub(crate) fn falls_through(self) -> bool {
        matches!(self, Ctx::List | Ctx::Log)
    }
}

#[derive(Clone, Debug)]
pub struct Binding {
    /// Stable name used by `[keys]` in the config.
    pub name: &'static str,
    pub keys: Vec<Key>,
    pub action: Action,
    pub help: &'static str,
    pub group: Group,
    /// Shown in the footer.
    pub footer: bool,
    pub ctx: Ctx,
    /// The few words the footer shows (empty: the name).
    pub short: &'static str,
}

#[derive(Clone, Debug)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

fn b(
    name: &'static str,
    keys: &[Key],
    action: Action,
    help: &'static str,
    group: Group,
    footer: bool,
) -> Binding {
    let ctx = match group {
        Group::List => Ctx::List,
        Group::Log => Ctx::Log,
        Group::Global | Group::Navigation | Group::Popup => Ctx::Any,
    };
    Binding {
        name,
        keys: keys.to_vec(),
        action,
        help,
        group,
        footer,
        ctx,
        short: short_help(name),
    }
}

/// A popup's binding (footer hint always shown while the popup is open).
fn p(
    name: &'static str,
    ctx: Ctx,
    keys: &[Key],
    action: Action,
    short: &'static str,
    help: &'static str,
) -> Binding {
    Binding {
        name,
        keys: keys.to_vec(),
        action,
        help,
        group: Group::Popup,
        footer: !short.is_empty(),
        ctx,
        short,
    }
}

/// The footer's words for the list and log keys.
fn short_help(name: &str) -> &'static str {
    match name {
        "launch" => "launch",
        "promote" => "promote",
        "deploy" => "deploy",
        "rollback" => "roll back",
        "cut" => "cut rc",
        "kill" | "kill_log" => "kill",
        "search" => "search",
        "follow" => "follow",
        "wrap" => "wrap",
        "first_error" => "error",
        "steps" => "steps",
        "copy" => "copy",
        "save" => "save",
        "open" => "open",
        "watch" => "watch",
        "web" => "web",
        "next_pane" => "pane",
        "filter" => "filter",
        "sort" => "sort",
        "refresh" => "refresh",
        "palette" => "cmd",
        "help" => "help",
        "quit" => "quit",
        "back" => "back",
        "diff" => "diff",
        "summary" => "summary",
        _ => "",
    }
}

impl Default for Keymap {
    // One binding per line reads as a table; rustfmt would spread each over seven lines.
    #[rustfmt::skip]
    fn default() -> Keymap {
        use Group::*;
        use KeyCode as K;
        let enter = Key::plain(K::Enter);
        let esc = Key::plain(K::Esc);
        let (down, up) = (Key::plain(K::Down), Key::plain(K::Up));
        let mut bindings = vec![
            b("down", &[Key::ch('j'), down], Action::Down, "move down", Navigation, false),
            b("up", &[Key::ch('k'), up], Action::Up, "move up", Navigation, false),
            b("top", &[Key::ch('g'), Key::plain(K::Home)], Action::Top, "first row", Navigation, false),
            b("bottom", &[Key::ch('G'), Key::plain(K::End)], Action::Bottom, "last row (loads the next page); log: follow", Navigation, false),
            b("half_page_down", &[Key::ctrl('d')], Action::HalfPageDown, "half a page down", Navigation, false),
            b("half_page_up", &[Key::ctrl('u')], Action::HalfPageUp, "half a page up", Navigation, false),
            b("page_down", &[Key::plain(K::PageDown)], Action::PageDown, "page down", Navigation, false),
            b("page_up", &[Key::plain(K::PageUp)], Action::PageUp, "page up", Navigation, false),
            b("open", &[enter], Action::Open, "open: project → its builds → a build's log", Navigation, true),
            b("back", &[esc], Action::Back, "back one level / clear the filter", Navigation, false),
            b("next_pane", &[Key::plain(K::Tab)], Action::NextPane, "next pane", Navigation, true),
            b("prev_pane", &[Key::plain(K::BackTab)], Action::PrevPane, "previous pane", Navigation, false),
            b("filter", &[Key::ch('/')], Action::StartFilter, "filter the list", List, true),
            b("sort", &[Key::ch('s')], Action::CycleSort, "sort by the next column (server-side)", List, true),
            b("sort_order", &[Key::ch('S')], Action::ToggleSortOrder, "reverse the sort order", List, false),
            b("inspect", &[Key::ch('i')], Action::Inspect, "details of the selected row", List, false),
            b("launch", &[Key::ch('L')], Action::Launch, "launch a build of the project (choose steps to skip)", List, true),
            b("kill", &[Key::ch('x')], Action::Kill, "kill the selected queued or running build (the marked ones, if any)", List, true),
            b("mark_row", &[Key::ch(' ')], Action::MarkRow, "builds: mark / unmark the row; x and R then act on every marked one (esc clears)", List, false),
            b("refresh", &[Key::ch('r')], Action::Refresh, "refresh now", List, true),
            b("watch", &[Key::ch('w')], Action::ToggleWatch, "watch the selected build, run, task or deployment: told when it ends, from any pane or profile (again: stop)", List, true),
            b("web", &[Key::ch('o')], Action::OpenWeb, "open the selected item in its system's web UI (no display: the link to click)", List, true),
            b("copy_link", &[Key::ch('Y')], Action::CopyLink, "copy the selected item's link (again: its id)", List, false),
            b("prev_env", &[Key::ch('h'), Key::plain(K::Left)], Action::PrevEnv, "releases: previous environment", List, false),
            b("next_env", &[Key::ch('l'), Key::plain(K::Right)], Action::NextEnv, "releases: next environment", List, false),
            b("next_project", &[Key::ch('p')], Action::NextProject, "releases: next release project", List, false),
            b("promote", &[Key::ch('P')], Action::Promote, "releases: promote what this environment runs to the next", List, true),
            b("deploy", &[Key::ch('D')], Action::DeployCandidate, "releases: deploy a chosen candidate here", List, true),
            b("rollback", &[Key::ch('R')], Action::Rollback, "roll back: this environment (Releases) or re-run the selected (or marked) finished builds with their original parameters (Builds)", List, true),
            b("set_status", &[Key::ch('T')], Action::SetStatus, "report a status: of a deployment (Releases) or of a build (Builds, nullplatform)", List, false),
            b("archives", &[Key::ch('a')], Action::Archives, "archived files of the selected build: download one (Candor)", List, false),
            b("log_archives", &[Key::ch('a')], Action::Archives, "archived files of this build: download one (Candor)", Log, false),
            b("asset", &[Key::ch('A')], Action::CreateAsset, "declare an asset of the selected build and see where to push it (nullplatform)", List, false),
            b("cut", &[Key::ch('C')], Action::CutRelease, "releases: cut a release candidate from a commit", List, true),
            b("search", &[Key::ch('/')], Action::StartFilter, "search the log", Log, true),
            b("next_match", &[Key::ch('n')], Action::NextMatch, "next match", Log, false),
            b("prev_match", &[Key::ch('N')], Action::PrevMatch, "previous match", Log, false),
            b("match_filter", &[Key::ch('F')], Action::ToggleMatchFilter, "show only lines that match the search", Log, false),
            b("follow", &[Key::ch('f')], Action::ToggleFollow, "follow new lines / pause (G also follows)", Log, true),
            b("wrap", &[Key::ch('w')], Action::ToggleWrap, "wrap long lines", Log, true),
            b("line_numbers", &[Key::ch('#')], Action::ToggleLineNumbers, "line numbers", Log, false),
            b("first_error", &[Key::ch('e')], Action::JumpToError, "jump to the first error", Log, true),
            b("next_error", &[Key::ch('E')], Action::NextError, "next error (failed step, non-zero exit, error line)", Log, false),
            b("steps", &[Key::ch('t')], Action::ToggleSteps, "step list", Log, true),
            b("next_step", &[Key::ch(']')], Action::NextStep, "next step", Log, false),
            b("prev_step", &[Key::ch('[')], Action::PrevStep, "previous step", Log, false),
            b("mark", &[Key::ch('v')], Action::ToggleMark, "start / clear a selection", Log, false),
            b("copy", &[Key::ch('y')], Action::Copy, "copy the selection or the line (OSC 52)", Log, true),
            b("save", &[Key::ch('s')], Action::SaveLog, "save the whole log to a file", Log, true),
            b("scroll_left", &[Key::ch('h'), Key::plain(K::Left)], Action::ScrollLeft, "scroll left", Log, false),
            b("scroll_right", &[Key::ch('l'), Key::plain(K::Right)], Action::ScrollRight, "scroll right", Log, false),
            b("kill_log", &[Key::ch('x')], Action::Kill, "kill this build", Log, false),
            b("rerun_log", &[Key::ch('R')], Action::Rollback, "run this build again with its original parameters (the steps it skipped too)", Log, false),
            b("watch_log", &[Key::ch('W')], Action::ToggleWatch, "watch this build: told when it ends (w wraps here)", Log, false),
            b("web_log", &[Key::ch('o')], Action::OpenWeb, "open this build in its system's web UI", Log, false),
            b("copy_link_log", &[Key::ch('Y')], Action::CopyLink, "copy this build's link (again: its id)", Log, false),
            b("diff", &[Key::ch('d')], Action::ToggleDiff, "compare with the last green build: only what differs (n/N, ]/[ hunks; ⏎ jumps to the line; esc or d: back)", Log, true),
            b("diff_pick", &[Key::ch('D')], Action::PickDiff, "compare with a build you pick from the project's builds", Log, false),
            b("summary", &[Key::ch('i')], Action::ToggleSummary, "failure summary of a failed build / the full log (esc: full log)", Log, false),
            b("projects", &[Key::ch('1')], Action::ShowPane(Resource::Projects), "Projects pane", Global, false),
            b("developers", &[Key::ch('2')], Action::ShowPane(Resource::Developers), "Developers pane", Global, false),
            b("secrets", &[Key::ch('3')], Action::ShowPane(Resource::Secrets), "Secrets pane", Global, false),
            b("builds", &[Key::ch('4')], Action::ShowPane(Resource::Builds), "Builds pane (queued and running)", Global, false),
            b("releases", &[Key::ch('5')], Action::ShowPane(Resource::Releases), "Releases pane", Global, false),
            b("audit", &[Key::ch('6')], Action::ShowPane(Resource::Audit), "Audit pane: every change made here", Global, false),
            b("overview", &[Key::ch('7')], Action::ShowPane(Resource::Overview), "Overview: every profile at once", Global, false),
            b("view_1", &[Key::ch('8')], Action::OpenView(0), "saved view 1 ([[views]] in the config; :view <name> for any)", Global, false),
            b("view_2", &[Key::ch('9')], Action::OpenView(1), "saved view 2", Global, false),
            b("view_3", &[Key::ch('0')], Action::OpenView(2), "saved view 3", Global, false),
            b("palette", &[Key::ch(':')], Action::OpenPalette, "command palette", Global, true),
            b("help", &[Key::ch('?')], Action::Help, "help for this pane", Global, true),
            b("quit", &[Key::ch('q')], Action::Quit, "quit (Ctrl-c quits from anywhere)", Global, true),
        ];
        bindings.extend([
            p("confirm_yes", Ctx::Confirm, &[Key::ch('y'), Key::ch('Y'), enter], Action::Accept, "yes", "send the change (a protected environment: ⏎ after typing its name)"),
            p("confirm_no", Ctx::Confirm, &[Key::ch('n'), Key::ch('N'), esc, Key::ch('q')], Action::Cancel, "no", "send nothing"),
            p("confirm_force", Ctx::Confirm, &[Key::ch('f'), Key::ctrl('f')], Action::ToggleForce, "force", "rollback: force on/off (Ctrl-f while typing a name)"),
            p("form_submit", Ctx::Form, &[enter], Action::Accept, "continue", "check the answers and go on to the confirmation"),
            p("form_cancel", Ctx::Form, &[esc], Action::Cancel, "cancel", "close the form; nothing is sent"),
            p("form_next", Ctx::Form, &[Key::plain(K::Tab)], Action::NextField, "next", "next field"),
            p("form_prev", Ctx::Form, &[Key::plain(K::BackTab)], Action::PrevField, "prev", "previous field"),
            p("form_toggle", Ctx::Form, &[Key::ch(' '), Key::ch('x')], Action::ToggleItem, "skip", "step list: skip / keep the step"),
            p("form_clear", Ctx::Form, &[Key::ctrl('u')], Action::ClearLine, "clear", "clear the field"),
            p("form_down", Ctx::Form, &[Key::ch('j'), down], Action::Down, "", "step list: next step"),
            p("form_up", Ctx::Form, &[Key::ch('k'), up], Action::Up, "", "step list: previous step"),
            p("palette_run", Ctx::Palette, &[enter], Action::Accept, "run", "run the command"),
            p("palette_close", Ctx::Palette, &[esc], Action::Cancel, "close", "close the palette"),
            p("palette_complete", Ctx::Palette, &[Key::plain(K::Tab)], Action::Complete, "complete", "complete the chosen command"),
            p("palette_down", Ctx::Palette, &[down], Action::Down, "", "next suggestion"),
            p("palette_up", Ctx::Palette, &[up], Action::Up, "", "previous suggestion"),
            p("palette_clear", Ctx::Palette, &[Key::ctrl('u')], Action::ClearLine, "", "clear the line"),
            p("filter_apply", Ctx::Filter, &[enter], Action::Accept, "apply", "apply (lists ask the server) / search the log"),
            p("filter_cancel", Ctx::Filter, &[esc], Action::Cancel, "cancel", "back to the filter before typing"),
            p("filter_clear", Ctx::Filter, &[Key::ctrl('u')], Action::ClearLine, "clear", "clear the line"),
            p("pick_choose", Ctx::Picker, &[enter], Action::Accept, "choose", "choose this item"),
            p("pick_close", Ctx::Picker, &[esc, Key::ch('q')], Action::Cancel, "close", "close; nothing is done"),
            p("pick_down", Ctx::Picker, &[Key::ch('j'), down], Action::Down, "", "next item"),
            p("pick_up", Ctx::Picker, &[Key::ch('k'), up], Action::Up, "", "previous item"),
            p("help_close", Ctx::Help, &[esc, Key::ch('?'), Key::ch('q')], Action::Cancel, "close", "close help"),
            p("help_down", Ctx::Help, &[Key::ch('j'), down], Action::Down, "", "scroll down"),
            p("help_up", Ctx::Help, &[Key::ch('k'), up], Action::Up, "", "scroll up"),
            p("watching_jump", Ctx::Watching, &[enter], Action::Accept, "jump", "go to the item (its profile and pane)"),
            p("watching_remove", Ctx::Watching, &[Key::ch('w'), Key::ch('d'), Key::plain(K::Delete)], Action::ToggleWatch, "stop", "stop watching it"),
            p("watching_close", Ctx::Watching, &[esc, Key::ch('q')], Action::Cancel, "close", "close the list"),
            p("watching_down", Ctx::Watching, &[Key::ch('j'), down], Action::Down, "", "next item"),
            p("watching_up", Ctx::Watching, &[Key::ch('k'), up], Action::Up, "", "previous item"),
            p("demo", Ctx::FirstRun, &[Key::ch('d')], Action::StartDemo, "demo", "start the built-in demo"),
            p("leave", Ctx::FirstRun, &[Key::ch('q'), esc], Action::Quit, "quit", "leave shipdeck"),
        ]);
        Keymap { bindings }
    }
}

impl Keymap {
    /// The default keymap with `[keys]` overrides applied; problems say what is wrong with each.
    pub fn with_overrides(overrides: &[KeyOverride]) -> (Keymap, Vec<String>) {
        let mut km = Keymap::default();
        let mut problems = Vec::new();
        for o in overrides {
            let Some(idx) = km.bindings.iter().position(|b| b.name == o.action) else {
                let names: Vec<&str> = km.bindings.iter().map(|b| b.name).collect();
                problems.push(format!(
                    "line {}: unknown action `{}` in [keys]; actions: {}",
                    o.line,
                    o.action,
                    names.join(", ")
                ));
                continue;
            };
            match Key::parse(&o.key) {
                Ok(k) => km.bindings[idx].keys = vec![k],
                Err(e) => problems.push(format!("line {}: {e}", o.line)),
            }
        }
        (km, problems)
    }

    /// The action bound to this key event in a context, or in the layers below it that are
    /// visible too (the log viewer and a pane fall through to the global keys; popups do not).
    /// Ctrl-c always quits and cannot be rebound.
    pub(crate) fn action_for(&self, ev: &KeyEvent, ctx: Ctx) -> Option<Action> {
        if Key::ctrl('c').matches(ev) {
            return Some(Action::Quit);
        }
        self.lookup(ev, ctx, false).or_else(|| {
            if ctx.falls_through() {
                self.lookup(ev, Ctx::Any, false)
            } else {
                None
            }
        })
    }

    /// The binding of one layer for a key. `typing`: a text field has the focus, so plain
    /// characters are text, not commands (only named keys and Ctrl/Alt chords are looked up).
    pub fn lookup(&self, ev: &KeyEvent, ctx: Ctx, typing: bool) -> Option<Action> {
        if typing
            && matches!(ev.code, KeyCode::Char(_))
            && !ev
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        self.bindings
            .iter()
            .find(|b| b.ctx == ctx && b.keys.iter().any(|k| k.matches(ev)))
            .map(|b| b.action.clone())
    }

    /// Bindings of a layer, in table order (help and footer are made from these).
    pub fn of(&self, ctx: Ctx) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.ctx == ctx)
    }

    /// Label of the keys bound to an action name (`"j/↓"`).
    pub(crate) fn keys_of(&self, name: &str) -> String {
        self.bindings
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.keys.iter().map(Key::label).collect::<Vec<_>>().join("/"))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_key_names() {
        assert_eq!(Key::parse("ctrl-d").unwrap(), Key::ctrl('d'));
        assert_eq!(Key::parse("G").unwrap(), Key::ch('G'));
        assert_eq!(
            Key::parse("shift-tab").unwrap(),
            Key::plain(KeyCode::BackTab)
        );
        assert_eq!(Key::parse("f5").unwrap(), Key::plain(KeyCode::F(5)));
        assert!(Key::parse("hyper-x").is_err());
    }

    #[test]
    fn upper_case_matches_with_shift_reported() {
        let km = Keymap::default();
        let a = km.action_for(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT), Ctx::List);
        assert!(matches!(a, Some(Action::Bottom)));
        let a = km.action_for(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL), Ctx::Log);
        assert!(matches!(a, Some(Action::Quit)));
    }

    #[test]
    fn the_same_key_means_different_things_by_context() {
        let km = Keymap::default();
        let s = ev(KeyCode::Char('s'), KeyModifiers::NONE);
        assert!(matches!(
            km.action_for(&s, Ctx::List),
            Some(Action::CycleSort)
        ));
        assert!(matches!(km.action_for(&s, Ctx::Log), Some(Action::SaveLog)));
        // Global keys work in every context.
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        assert!(matches!(km.action_for(&q, Ctx::Log), Some(Action::Quit)));
    }

    #[test]
    fn overrides_rebind_and_report_problems() {
        let (km, problems) = Keymap::with_overrides(&[
            KeyOverride {
                action: "quit".into(),
                key: "x".into(),
                line: 3,
            },
            KeyOverride {
                action: "fly".into(),
                key: "y".into(),
                line: 4,
            },
        ]);
        assert!(matches!(
            km.action_for(&ev(KeyCode::Char('x'), KeyModifiers::NONE), Ctx::Any),
            Some(Action::Quit)
        ));
        assert!(
            km.action_for(&ev(KeyCode::Char('q'), KeyModifiers::NONE), Ctx::Any)
                .is_none()
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("line 4") && problems[0].contains("fly"));
    }
}
