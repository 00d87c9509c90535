//! `cargo run -p xtask -- <subcommand>`: dev-only tasks for shipdeck.

mod screenshots;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Cell, Gauge, Paragraph, Row, Sparkline, Table, TableState,
};

const USAGE: &str = "usage: xtask <subcommand>

subcommands:
  screenshots [dir]    README screenshots from real app states (default dir: screenshots)
  demo-png <out.png>   render a synthetic 100x30 dashboard to a PNG (scale 1.0 by default)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> anyhow::Result<()> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("demo-png") => {
            let mut out = None;
            let mut scale = 1.0f32;
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--scale" => {
                        let v = args.next().context("--scale needs a value")?;
                        scale = v.parse().with_context(|| format!("bad --scale {v:?}"))?;
                    }
                    _ if out.is_none() && !arg.starts_with('-') => out = Some(PathBuf::from(arg)),
                    _ => bail!("unexpected argument {arg:?}\n\n{USAGE}"),
                }
            }
            let out = out.with_context(|| format!("missing <out.png>\n\n{USAGE}"))?;
            let buf = demo_buffer()?;
            xtask::buffer_to_png(&buf, &out, scale)?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Some("screenshots") => {
            let dir = args.next().unwrap_or_else(|| "screenshots".into());
            screenshots::run(std::path::Path::new(&dir))
        }
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown subcommand {other:?}\n\n{USAGE}"),
        None => bail!("{USAGE}"),
    }
}

/// A synthetic 100×30 screen exercising borders, a table, colours, reversed
/// cells, block elements, wide characters and characters that need escaping.
fn demo_buffer() -> anyhow::Result<Buffer> {
    let mut terminal = Terminal::new(TestBackend::new(100, 30))?;
    terminal.draw(|f| {
        let outer = Block::bordered()
            .title(" shipdeck · pipelines ")
            .title_style(Style::new().bold().fg(Color::Cyan));
        let inner = outer.inner(f.area());
        f.render_widget(outer, f.area());

        let [main, status] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
        let [table_area, side] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(34)]).areas(main);

        let header = Row::new(["PIPELINE", "BRANCH", "STATUS", "DURATION", "AUTHOR"])
            .style(Style::new().bold().fg(Color::Yellow))
            .bottom_margin(1);
        let status_cell = |s: &'static str| {
            let (sym, color) = match s {
                "passed" => ("✓", Color::Green),
                "failed" => ("✗", Color::Red),
                "running" => ("●", Color::Yellow),
                _ => ("○", Color::DarkGray),
            };
            Cell::from(Line::from(vec![
                Span::styled(format!("{sym} "), Style::new().fg(color)),
                Span::styled(s, Style::new().fg(color)),
            ]))
        };
        let rows = [
            ("api-gateway", "main", "passed", "3m 12s", "ana"),
            ("billing <svc> & co", "fix/tax", "failed", "1m 04s", "bo"),
            ("web-frontend", "main", "running", "0m 41s", "chen"),
            ("infra-terraform", "release/2.4", "queued", "—", "dee"),
            ("search-indexer", "main", "passed", "7m 55s", "eli"),
            ("mobile-ios", "feat/日本語", "passed", "12m 30s", "fay"),
            ("data-pipeline", "main", "failed", "22m 02s", "gus"),
        ]
        .into_iter()
        .map(|(name, branch, st, dur, who)| {
            Row::new([
                Cell::from(name),
                Cell::from(branch).fg(Color::Indexed(141)),
                status_cell(st),
                Cell::from(dur).fg(Color::Rgb(0x9a, 0xa5, 0xce)),
                Cell::from(who).add_modifier(Modifier::ITALIC | Modifier::DIM),
            ])
        });
        let table = Table::new(
            rows,
            [
                Constraint::Fill(2),
                Constraint::Fill(1),
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Length(6),
            ],
        )
        .header(header)
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title(" Runs ")
                .border_style(Style::new().fg(Color::Blue)),
        )
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶ ");
        let mut state = TableState::default().with_selected(Some(1));
        f.render_stateful_widget(table, table_area, &mut state);

        let [gauge_area, spark_area, info_area] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(6),
            Constraint::Fill(1),
        ])
        .areas(side);
        f.render_widget(
            Gauge::default()
                .block(
                    Block::bordered()
                        .border_type(BorderType::Thick)
                        .title(" Deploy prod "),
                )
                .gauge_style(Style::new().fg(Color::Green).bg(Color::Black))
                .ratio(0.62)
                .use_unicode(true),
            gauge_area,
        );
        f.render_widget(
            Sparkline::default()
                .block(
                    Block::bordered()
                        .border_type(BorderType::Double)
                        .title(" Queue depth "),
                )
                .style(Style::new().fg(Color::Magenta))
                .data([
                    1u64, 3, 2, 5, 8, 6, 9, 12, 7, 4, 6, 10, 14, 11, 8, 5, 3, 4, 7, 9,
                ]),
            spark_area,
        );
        f.render_widget(
            Paragraph::new(vec![
                Line::from("Runners  ░▒▓█ 4/6 busy"),
                Line::from(vec![
                    Span::raw("Alerts   "),
                    Span::styled(
                        " 2 CRIT ",
                        Style::new().fg(Color::White).bg(Color::Red).bold(),
                    ),
                ]),
                Line::from(Span::styled("underlined", Style::new().underlined()))
                    .fg(Color::LightBlue),
                Line::from(Span::styled("crossed out", Style::new().crossed_out())),
            ])
            .block(Block::bordered().title(" Info ")),
            info_area,
        );

        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" NORMAL ", Style::new().reversed().bold().fg(Color::Green)),
                Span::raw(" "),
                Span::styled("q", Style::new().fg(Color::Cyan).bold()),
                Span::raw(" quit  "),
                Span::styled("↑↓", Style::new().fg(Color::Cyan).bold()),
                Span::raw(" select  "),
                Span::styled("r", Style::new().fg(Color::Cyan).bold()),
                Span::raw(" rerun  "),
                Span::styled("/", Style::new().fg(Color::Cyan).bold()),
                Span::raw(" filter"),
                Span::styled("   last sync 12:04:31", Style::new().fg(Color::DarkGray)),
            ]))
            .bg(Color::Indexed(236)),
            status,
        );
    })?;
    Ok(terminal.backend().buffer().clone())
}
