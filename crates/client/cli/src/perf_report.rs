//! The `arcanum bench compare` report writer: turns measured points (a flow at a cross-domain
//! latency) into a Markdown report, two hand-written SVG charts and a JSON dump.
//!
//! Key items: [`ComparePoint`] (one measurement) and [`write_compare_report`] (writes
//! `report.md`, `throughput.svg`, `latency.svg` and `results.json` into a directory).
//!
//! Invariants:
//! - Pure and deterministic: the output depends only on the arguments (no clock, no `HashMap`
//!   iteration); flows are ordered `hosted`, `fabric`, then the rest by name, and points by
//!   latency, so the same input always gives byte-identical files.
//! - Non-finite values (NaN, ±∞) are never plotted and never used in a ratio; the table shows
//!   them as `n/a`, and a target that depends on them is reported as not evaluated, never as met.
//! - Every piece of caller-supplied text (flow names, command, machine) is escaped for the format
//!   it lands in (XML for SVG, Markdown table cells, a code fence for the command).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// One measured point: a flow at a cross-domain latency.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComparePoint {
    /// `"hosted"` | `"fabric"` (other names are plotted and tabulated, but have no targets).
    pub flow: String,
    pub cross_domain_latency_ms: f64,
    pub committed_tx_per_s: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    /// Against the machine's signature bound: every required signature verified on its own.
    pub fraction_of_bound: f64,
    /// Against the bound of this implementation, which batch-verifies (a stricter figure).
    pub fraction_of_batched_bound: f64,
    pub peak_rss_mb: f64,
}

/// Writes `<dir>/report.md`, `<dir>/throughput.svg`, `<dir>/latency.svg` and
/// `<dir>/results.json`; returns the report path. Creates `dir` if needed.
pub fn write_compare_report(
    dir: &Path,
    points: &[ComparePoint],
    command: &str,
    machine: &str,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating report directory {}", dir.display()))?;
    let sorted = sorted_points(points);
    let flows = flow_order(points);
    let findings = compute_findings(&sorted);

    let throughput = render_chart(&Chart {
        title: "Committed throughput vs cross-domain latency",
        x_label: "cross-domain latency (ms)",
        y_label: "committed tx/s",
        series: series_for(&flows, &sorted, |p| p.committed_tx_per_s),
    });
    let latency = render_chart(&Chart {
        title: "p50 commit latency vs cross-domain latency",
        x_label: "cross-domain latency (ms)",
        y_label: "p50 latency (ms)",
        series: series_for(&flows, &sorted, |p| p.latency_p50_ms),
    });
    let markdown = render_markdown(&sorted, &findings, command, machine);
    let json = render_json(&sorted, &findings, command, machine)?;

    let write = |name: &str, body: &str| -> anyhow::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    write(THROUGHPUT_SVG, &throughput)?;
    write(LATENCY_SVG, &latency)?;
    write(RESULTS_JSON, &json)?;
    write(REPORT_MD, &markdown)
}

const REPORT_MD: &str = "report.md";
const THROUGHPUT_SVG: &str = "throughput.svg";
const LATENCY_SVG: &str = "latency.svg";
const RESULTS_JSON: &str = "results.json";

const HOSTED: &str = "hosted";
const FABRIC: &str = "fabric";
/// The cross-domain latency at which hosted must beat fabric.
const TARGET_LATENCY_MS: f64 = 20.0;
/// At [`TARGET_LATENCY_MS`]: hosted p50 ≤ this × fabric p50.
const MAX_P50_RATIO: f64 = 0.5;
/// At 0 ms: hosted committed tx/s ≥ this.
const MIN_HOSTED_TPS_AT_ZERO: f64 = 2000.0;
/// At 0 ms: hosted fraction of the signature bound ≥ this.
const MIN_FRACTION_OF_BOUND: f64 = 0.5;

// ---------------------------------------------------------------------------------------------
// Ordering and grouping
// ---------------------------------------------------------------------------------------------

/// Flows in display order: `hosted`, `fabric`, then the others by name (deduplicated).
fn flow_order(points: &[ComparePoint]) -> Vec<String> {
    let names: BTreeSet<&str> = points.iter().map(|p| p.flow.as_str()).collect();
    let mut out = Vec::with_capacity(names.len());
    for known in [HOSTED, FABRIC] {
        if names.contains(known) {
            out.push(known.to_string());
        }
    }
    out.extend(
        names
            .iter()
            .filter(|n| **n != HOSTED && **n != FABRIC)
            .map(|n| (*n).to_string()),
    );
    out
}

fn flow_rank(flow: &str) -> u8 {
    match flow {
        HOSTED => 0,
        FABRIC => 1,
        _ => 2,
    }
}

/// Orders two latencies: finite ones ascending, non-finite ones last.
fn latency_cmp(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_finite(), b.is_finite()) {
        (true, true) => a.total_cmp(&b),
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => std::cmp::Ordering::Equal,
    }
}

/// Points by (latency, flow rank, flow name); stable, so duplicates keep their input order.
fn sorted_points(points: &[ComparePoint]) -> Vec<&ComparePoint> {
    let mut v: Vec<&ComparePoint> = points.iter().collect();
    v.sort_by(|a, b| {
        latency_cmp(a.cross_domain_latency_ms, b.cross_domain_latency_ms)
            .then_with(|| flow_rank(&a.flow).cmp(&flow_rank(&b.flow)))
            .then_with(|| a.flow.cmp(&b.flow))
    });
    v
}

/// Latency bucket used to pair flows: microsecond resolution, so 20.0 and 20.0000001 match.
fn latency_key(ms: f64) -> Option<i64> {
    ms.is_finite().then(|| (ms * 1000.0).round() as i64)
}

fn same_latency(a: f64, b: f64) -> bool {
    matches!((latency_key(a), latency_key(b)), (Some(x), Some(y)) if x == y)
}

/// The first point (in sorted order) of `flow` at latency `ms`.
fn point_at<'a>(sorted: &[&'a ComparePoint], flow: &str, ms: f64) -> Option<&'a ComparePoint> {
    sorted
        .iter()
        .copied()
        .find(|p| p.flow == flow && same_latency(p.cross_domain_latency_ms, ms))
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

/// hosted ÷ fabric at one latency where both flows were measured.
#[derive(Debug, Serialize)]
struct RatioRow {
    cross_domain_latency_ms: f64,
    /// hosted p50 ÷ fabric p50; `None` if either is non-finite or fabric's is 0.
    p50_ratio: Option<f64>,
    /// hosted tx/s ÷ fabric tx/s; `None` if either is non-finite or fabric's is 0.
    tps_ratio: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Pass,
    Fail,
    /// The point (or a value it needs) is missing or not finite.
    NotEvaluated,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NotEvaluated => "NOT EVALUATED",
        }
    }
}

#[derive(Debug, Serialize)]
struct TargetCheck {
    target: String,
    status: Status,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Findings {
    ratios: Vec<RatioRow>,
    targets: Vec<TargetCheck>,
    /// Extra (flow, latency) points beyond the first, which the findings ignore.
    duplicates_ignored: usize,
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (num.is_finite() && den.is_finite() && den != 0.0).then(|| num / den)
}

fn compute_findings(sorted: &[&ComparePoint]) -> Findings {
    // Latencies (in sorted order, deduplicated by bucket) where both flows have a point.
    let mut ratios = Vec::new();
    let mut seen = BTreeSet::new();
    for p in sorted {
        let Some(key) = latency_key(p.cross_domain_latency_ms) else {
            continue;
        };
        if !seen.insert(key) {
            continue;
        }
        let ms = p.cross_domain_latency_ms;
        if let (Some(h), Some(f)) = (point_at(sorted, HOSTED, ms), point_at(sorted, FABRIC, ms)) {
            ratios.push(RatioRow {
                cross_domain_latency_ms: ms,
                p50_ratio: ratio(h.latency_p50_ms, f.latency_p50_ms),
                tps_ratio: ratio(h.committed_tx_per_s, f.committed_tx_per_s),
            });
        }
    }

    let mut pairs = BTreeSet::new();
    let duplicates_ignored = sorted
        .iter()
        .filter_map(|p| latency_key(p.cross_domain_latency_ms).map(|k| (p.flow.as_str(), k)))
        .filter(|pair| !pairs.insert(*pair))
        .count();

    let mut targets = Vec::new();
    let hosted20 = point_at(sorted, HOSTED, TARGET_LATENCY_MS);
    let fabric20 = point_at(sorted, FABRIC, TARGET_LATENCY_MS);
    targets.push(check_p50_at_target(hosted20, fabric20));
    targets.push(check_tps_at_target(hosted20, fabric20));
    let hosted0 = point_at(sorted, HOSTED, 0.0);
    targets.push(check_min_tps_at_zero(hosted0));
    targets.push(check_fraction_at_zero(hosted0));
    Findings {
        ratios,
        targets,
        duplicates_ignored,
    }
}

fn missing(target: String, what: &str) -> TargetCheck {
    TargetCheck {
        target,
        status: Status::NotEvaluated,
        detail: what.to_string(),
    }
}

fn check_p50_at_target(h: Option<&ComparePoint>, f: Option<&ComparePoint>) -> TargetCheck {
    let target = format!(
        "at {} ms: hosted p50 ≤ {} × fabric p50",
        fmt_num(TARGET_LATENCY_MS, 0),
        fmt_num(MAX_P50_RATIO, 1)
    );
    let (Some(h), Some(f)) = (h, f) else {
        return missing(target, &missing_flows_detail(h, f));
    };
    let (hp, fp) = (h.latency_p50_ms, f.latency_p50_ms);
    if !hp.is_finite() || !fp.is_finite() {
        return missing(target, "a p50 value is not a finite number");
    }
    let limit = MAX_P50_RATIO * fp;
    let ok = hp <= limit;
    let mut detail = format!(
        "hosted {} ms vs limit {} ms ({} × fabric {} ms); ratio {}",
        fmt_num(hp, 2),
        fmt_num(limit, 2),
        fmt_num(MAX_P50_RATIO, 1),
        fmt_num(fp, 2),
        fmt_opt(ratio(hp, fp), 3)
    );
    if !ok {
        let _ = write!(
            detail,
            "; shortfall: {} ms over the limit",
            fmt_num(hp - limit, 2)
        );
    }
    TargetCheck {
        target,
        status: if ok { Status::Pass } else { Status::Fail },
        detail,
    }
}

fn check_tps_at_target(h: Option<&ComparePoint>, f: Option<&ComparePoint>) -> TargetCheck {
    let target = format!(
        "at {} ms: hosted throughput ≥ fabric throughput",
        fmt_num(TARGET_LATENCY_MS, 0)
    );
    let (Some(h), Some(f)) = (h, f) else {
        return missing(target, &missing_flows_detail(h, f));
    };
    let (ht, ft) = (h.committed_tx_per_s, f.committed_tx_per_s);
    if !ht.is_finite() || !ft.is_finite() {
        return missing(target, "a throughput value is not a finite number");
    }
    let ok = ht >= ft;
    let mut detail = format!(
        "hosted {} tx/s vs fabric {} tx/s; ratio {}",
        fmt_num(ht, 1),
        fmt_num(ft, 1),
        fmt_opt(ratio(ht, ft), 3)
    );
    if !ok {
        let _ = write!(detail, "; shortfall: {} tx/s", fmt_num(ft - ht, 1));
    }
    TargetCheck {
        target,
        status: if ok { Status::Pass } else { Status::Fail },
        detail,
    }
}

fn check_min_tps_at_zero(h: Option<&ComparePoint>) -> TargetCheck {
    let target = format!(
        "at 0 ms: hosted ≥ {} tx/s",
        fmt_num(MIN_HOSTED_TPS_AT_ZERO, 0)
    );
    let Some(h) = h else {
        return missing(target, "no hosted point at 0 ms");
    };
    let t = h.committed_tx_per_s;
    if !t.is_finite() {
        return missing(target, "the hosted throughput is not a finite number");
    }
    let ok = t >= MIN_HOSTED_TPS_AT_ZERO;
    let mut detail = format!("hosted {} tx/s", fmt_num(t, 1));
    if !ok {
        let _ = write!(
            detail,
            "; shortfall: {} tx/s",
            fmt_num(MIN_HOSTED_TPS_AT_ZERO - t, 1)
        );
    }
    TargetCheck {
        target,
        status: if ok { Status::Pass } else { Status::Fail },
        detail,
    }
}

fn check_fraction_at_zero(h: Option<&ComparePoint>) -> TargetCheck {
    let target = format!(
        "at 0 ms: hosted fraction of bound ≥ {}",
        fmt_num(MIN_FRACTION_OF_BOUND, 2)
    );
    let Some(h) = h else {
        return missing(target, "no hosted point at 0 ms");
    };
    let fr = h.fraction_of_bound;
    if !fr.is_finite() {
        return missing(
            target,
            "the hosted fraction of bound is not a finite number",
        );
    }
    let ok = fr >= MIN_FRACTION_OF_BOUND;
    let mut detail = format!("hosted fraction of bound {}", fmt_num(fr, 3));
    if !ok {
        let _ = write!(
            detail,
            "; shortfall: {}",
            fmt_num(MIN_FRACTION_OF_BOUND - fr, 3)
        );
    }
    TargetCheck {
        target,
        status: if ok { Status::Pass } else { Status::Fail },
        detail,
    }
}

fn missing_flows_detail(h: Option<&ComparePoint>, f: Option<&ComparePoint>) -> String {
    let at = fmt_num(TARGET_LATENCY_MS, 0);
    match (h, f) {
        (None, None) => format!("no hosted and no fabric point at {at} ms"),
        (None, Some(_)) => format!("no hosted point at {at} ms"),
        _ => format!("no fabric point at {at} ms"),
    }
}

// ---------------------------------------------------------------------------------------------
// Number formatting
// ---------------------------------------------------------------------------------------------

/// Fixed-decimal formatting; non-finite values print as `n/a`, and `-0` as `0`.
fn fmt_num(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| fmt_num(x, decimals))
}

// ---------------------------------------------------------------------------------------------
// Markdown and JSON
// ---------------------------------------------------------------------------------------------

/// Escapes text for a Markdown table cell (pipes, newlines, HTML-significant characters).
fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A fenced code block that no backtick run inside `body` can close early.
fn code_fence(body: &str, lang: &str) -> String {
    let mut longest = 0usize;
    let mut run = 0usize;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

fn render_markdown(
    sorted: &[&ComparePoint],
    findings: &Findings,
    command: &str,
    machine: &str,
) -> String {
    let mut md = String::new();
    md.push_str("# Arcanum benchmark: hosted vs fabric endorsement flow\n\n");
    md.push_str("Produced by:\n\n");
    md.push_str(&code_fence(command, "sh"));
    md.push('\n');
    let _ = writeln!(md, "Machine: {}\n", md_cell(machine));

    md.push_str("## Results\n\n");
    md.push_str(
        "| flow | cross-domain latency (ms) | committed tx/s | p50 (ms) | p99 (ms) \
         | fraction of bound | fraction of batched bound | peak RSS (MB) |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    if sorted.is_empty() {
        md.push_str("| (no points) | | | | | | | |\n");
    }
    for p in sorted {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&p.flow),
            fmt_num(p.cross_domain_latency_ms, 1),
            fmt_num(p.committed_tx_per_s, 1),
            fmt_num(p.latency_p50_ms, 2),
            fmt_num(p.latency_p99_ms, 2),
            fmt_num(p.fraction_of_bound, 3),
            fmt_num(p.fraction_of_batched_bound, 3),
            fmt_num(p.peak_rss_mb, 1),
        );
    }
    md.push_str(
        "\nFraction of bound: committed tx/s ÷ (cores ÷ CPU time of the signature work per \
         transaction, every required signature made and verified on its own; SPEC §5). Fraction \
         of batched bound: the same with the verifications this implementation batches (enclave \
         and management per endorse batch, peers per block) at their measured batched cost.\n\n",
    );
    let _ = writeln!(
        md,
        "![Committed throughput vs cross-domain latency]({THROUGHPUT_SVG})\n"
    );
    let _ = writeln!(
        md,
        "![p50 commit latency vs cross-domain latency]({LATENCY_SVG})\n"
    );

    md.push_str("## Findings\n\n");
    if findings.ratios.is_empty() {
        md.push_str("No cross-domain latency has both a hosted and a fabric point.\n\n");
    } else {
        md.push_str(
            "| cross-domain latency (ms) | hosted p50 ÷ fabric p50 | hosted tx/s ÷ fabric tx/s |\n",
        );
        md.push_str("|---:|---:|---:|\n");
        for r in &findings.ratios {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                fmt_num(r.cross_domain_latency_ms, 1),
                fmt_opt(r.p50_ratio, 3),
                fmt_opt(r.tps_ratio, 3),
            );
        }
        md.push('\n');
    }
    if findings.duplicates_ignored > 0 {
        let _ = writeln!(
            md,
            "Note: {} repeated (flow, latency) point(s) are in the table but the findings use \
             only the first of each.\n",
            findings.duplicates_ignored
        );
    }

    md.push_str("Targets:\n\n");
    for t in &findings.targets {
        let _ = writeln!(
            md,
            "- **{}**: {}: {}.",
            t.status.word(),
            md_cell(&t.target),
            md_cell(&t.detail)
        );
    }
    md.push('\n');
    let held = findings
        .targets
        .iter()
        .filter(|t| t.status == Status::Pass)
        .count();
    let _ = write!(
        md,
        "Summary: {held} of {} targets hold.",
        findings.targets.len()
    );
    let not_held: Vec<String> = findings
        .targets
        .iter()
        .filter(|t| t.status != Status::Pass)
        .map(|t| format!("{} ({})", t.target, t.status.word()))
        .collect();
    if not_held.is_empty() {
        md.push_str(" No shortfalls.\n");
    } else {
        let _ = writeln!(md, " Shortfalls: {}.", md_cell(&not_held.join("; ")));
    }
    md
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    command: &'a str,
    machine: &'a str,
    /// Sorted like the table; non-finite numbers serialise as `null`.
    points: Vec<&'a ComparePoint>,
    findings: &'a Findings,
}

fn render_json(
    sorted: &[&ComparePoint],
    findings: &Findings,
    command: &str,
    machine: &str,
) -> anyhow::Result<String> {
    let report = JsonReport {
        schema: "arcanum-bench-compare/1",
        command,
        machine,
        points: sorted.to_vec(),
        findings,
    };
    let mut s = serde_json::to_string_pretty(&report).context("serialising results.json")?;
    s.push('\n');
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// SVG charts
// ---------------------------------------------------------------------------------------------

const SVG_W: f64 = 720.0;
const SVG_H: f64 = 420.0;
const PLOT_LEFT: f64 = 80.0;
const PLOT_RIGHT: f64 = 560.0;
const PLOT_TOP: f64 = 50.0;
const PLOT_BOTTOM: f64 = 360.0;
const LEGEND_X: f64 = 580.0;
/// Colours for flows other than hosted/fabric, in flow order.
const EXTRA_COLOURS: [&str; 5] = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Diamond,
}

struct Series {
    name: String,
    colour: &'static str,
    marker: Marker,
    /// Finite (x, y) points only, by x.
    points: Vec<(f64, f64)>,
}

struct Chart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    series: Vec<Series>,
}

fn series_for(
    flows: &[String],
    sorted: &[&ComparePoint],
    y: impl Fn(&ComparePoint) -> f64,
) -> Vec<Series> {
    let mut extra = 0usize;
    flows
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let colour = match name.as_str() {
                HOSTED => "#1f77b4",
                FABRIC => "#ff7f0e",
                _ => {
                    let c = EXTRA_COLOURS[extra % EXTRA_COLOURS.len()];
                    extra += 1;
                    c
                }
            };
            let marker = match i % 3 {
                0 => Marker::Circle,
                1 => Marker::Square,
                _ => Marker::Diamond,
            };
            let points = sorted
                .iter()
                .filter(|p| &p.flow == name)
                .map(|p| (p.cross_domain_latency_ms, y(p)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            Series {
                name: name.clone(),
                colour,
                marker,
                points,
            }
        })
        .collect()
}

/// Escapes text for XML character data and attribute values.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab/newline are not allowed in XML 1.0.
            c if c.is_control() && c != '\t' && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A linear axis with "nice" ticks (steps of 1, 2 or 5 × 10ⁿ) covering `[lo, hi]` and 0.
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    fn covering(values: impl Iterator<Item = f64>) -> Self {
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if hi - lo <= 0.0 || !(hi - lo).is_finite() {
            // All zeros (or no data): a unit axis; an overflowing range: fall back likewise.
            if !(hi - lo).is_finite() {
                lo = 0.0;
                hi = f64::MAX / 8.0;
            } else {
                hi = lo + 1.0;
            }
        }
        let step = nice_step((hi - lo) / 5.0);
        Self {
            lo: (lo / step).floor() * step,
            hi: (hi / step).ceil() * step,
            step,
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round();
        let n = if n.is_finite() && n >= 0.0 {
            (n as usize).min(50)
        } else {
            0
        };
        (0..=n)
            .map(|i| self.lo + i as f64 * self.step + 0.0)
            .collect()
    }

    fn decimals(&self) -> usize {
        if self.step >= 1.0 {
            0
        } else {
            (-self.step.log10()).ceil().clamp(0.0, 12.0) as usize
        }
    }

    /// Maps `v` linearly from `[lo, hi]` to `[a, b]`.
    fn map(&self, v: f64, a: f64, b: f64) -> f64 {
        a + (v - self.lo) / (self.hi - self.lo) * (b - a)
    }
}

fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn render_chart(chart: &Chart<'_>) -> String {
    let all = || chart.series.iter().flat_map(|s| s.points.iter().copied());
    let xa = Axis::covering(all().map(|(x, _)| x));
    let ya = Axis::covering(all().map(|(_, y)| y));
    let px = |x: f64| xa.map(x, PLOT_LEFT, PLOT_RIGHT);
    let py = |y: f64| ya.map(y, PLOT_BOTTOM, PLOT_TOP);

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">",
        w = SVG_W,
        h = SVG_H
    );
    let _ = writeln!(s, "<title>{}</title>", xml_escape(chart.title));
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{SVG_W}\" height=\"{SVG_H}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" \
         font-weight=\"bold\">{}</text>",
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        xml_escape(chart.title)
    );

    // Grid lines and ticks.
    s.push_str("<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for t in ya.ticks() {
        let _ = writeln!(
            s,
            "<line x1=\"{PLOT_LEFT:.2}\" y1=\"{y:.2}\" x2=\"{PLOT_RIGHT:.2}\" y2=\"{y:.2}\"/>",
            y = py(t)
        );
    }
    for t in xa.ticks() {
        let _ = writeln!(
            s,
            "<line x1=\"{x:.2}\" y1=\"{PLOT_TOP:.2}\" x2=\"{x:.2}\" y2=\"{PLOT_BOTTOM:.2}\"/>",
            x = px(t)
        );
    }
    s.push_str("</g>\n");
    s.push_str("<g fill=\"#333333\">\n");
    for t in ya.ticks() {
        let _ = writeln!(
            s,
            "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\">{}</text>",
            PLOT_LEFT - 8.0,
            py(t) + 4.0,
            fmt_num(t, ya.decimals())
        );
    }
    for t in xa.ticks() {
        let _ = writeln!(
            s,
            "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{}</text>",
            px(t),
            PLOT_BOTTOM + 18.0,
            fmt_num(t, xa.decimals())
        );
    }
    s.push_str("</g>\n");

    // Axes and their labels.
    let _ = writeln!(
        s,
        "<g stroke=\"#000000\" stroke-width=\"1.5\">\n\
         <line x1=\"{PLOT_LEFT:.2}\" y1=\"{PLOT_BOTTOM:.2}\" x2=\"{PLOT_RIGHT:.2}\" y2=\"{PLOT_BOTTOM:.2}\"/>\n\
         <line x1=\"{PLOT_LEFT:.2}\" y1=\"{PLOT_TOP:.2}\" x2=\"{PLOT_LEFT:.2}\" y2=\"{PLOT_BOTTOM:.2}\"/>\n\
         </g>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{}</text>",
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        PLOT_BOTTOM + 42.0,
        xml_escape(chart.x_label)
    );
    let (lx, ly) = (22.0, (PLOT_TOP + PLOT_BOTTOM) / 2.0);
    let _ = writeln!(
        s,
        "<text x=\"{lx:.2}\" y=\"{ly:.2}\" text-anchor=\"middle\" \
         transform=\"rotate(-90 {lx:.2} {ly:.2})\">{}</text>",
        xml_escape(chart.y_label)
    );

    if chart.series.iter().all(|se| se.points.is_empty()) {
        let _ = writeln!(
            s,
            "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"middle\" fill=\"#888888\">no data</text>",
            (PLOT_LEFT + PLOT_RIGHT) / 2.0,
            (PLOT_TOP + PLOT_BOTTOM) / 2.0
        );
    }

    // One polyline plus markers per flow that has data.
    for se in &chart.series {
        if se.points.is_empty() {
            continue;
        }
        let coords: Vec<String> = se
            .points
            .iter()
            .map(|&(x, y)| format!("{:.2},{:.2}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            "<g class=\"series\" data-flow=\"{name}\">\n<polyline fill=\"none\" stroke=\"{c}\" \
             stroke-width=\"2\" points=\"{pts}\"/>",
            name = xml_escape(&se.name),
            c = se.colour,
            pts = coords.join(" ")
        );
        for &(x, y) in &se.points {
            s.push_str(&marker_svg(se.marker, px(x), py(y), se.colour));
        }
        s.push_str("</g>\n");
    }

    // Legend.
    s.push_str("<g class=\"legend\">\n");
    for (i, se) in chart.series.iter().enumerate() {
        let y = PLOT_TOP + 10.0 + i as f64 * 22.0;
        let _ = writeln!(
            s,
            "<line x1=\"{LEGEND_X:.2}\" y1=\"{y:.2}\" x2=\"{:.2}\" y2=\"{y:.2}\" stroke=\"{}\" \
             stroke-width=\"2\"/>",
            LEGEND_X + 24.0,
            se.colour
        );
        s.push_str(&marker_svg(se.marker, LEGEND_X + 12.0, y, se.colour));
        let label = if se.points.is_empty() {
            format!("{} (no data)", se.name)
        } else {
            se.name.clone()
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.2}\" y=\"{:.2}\">{}</text>",
            LEGEND_X + 32.0,
            y + 4.0,
            xml_escape(&label)
        );
    }
    s.push_str("</g>\n</svg>\n");
    s
}

fn marker_svg(marker: Marker, x: f64, y: f64, colour: &str) -> String {
    match marker {
        Marker::Circle => {
            format!("<circle cx=\"{x:.2}\" cy=\"{y:.2}\" r=\"4\" fill=\"{colour}\"/>\n")
        }
        Marker::Square => format!(
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"8\" height=\"8\" fill=\"{colour}\"/>\n",
            x - 4.0,
            y - 4.0
        ),
        Marker::Diamond => format!(
            "<polygon points=\"{:.2},{y:.2} {x:.2},{:.2} {:.2},{y:.2} {x:.2},{:.2}\" \
             fill=\"{colour}\"/>\n",
            x - 5.0,
            y - 5.0,
            x + 5.0,
            y + 5.0
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(flow: &str, lat: f64, tps: f64, p50: f64, p99: f64, frac: f64) -> ComparePoint {
        ComparePoint {
            flow: flow.to_string(),
            cross_domain_latency_ms: lat,
            committed_tx_per_s: tps,
            latency_p50_ms: p50,
            latency_p99_ms: p99,
            fraction_of_bound: frac,
            fraction_of_batched_bound: frac / 4.0,
            peak_rss_mb: 123.4,
        }
    }

    /// hosted passes every target.
    fn passing() -> Vec<ComparePoint> {
        vec![
            pt("fabric", 20.0, 1000.0, 80.0, 120.0, 0.2),
            pt("hosted", 0.0, 2500.0, 4.0, 9.0, 0.6),
            pt("fabric", 0.0, 1800.0, 10.0, 20.0, 0.3),
            pt("hosted", 20.0, 1500.0, 30.0, 50.0, 0.4),
        ]
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    /// A minimal XML well-formedness check: one root `<svg>`, every tag closed in order,
    /// attribute quotes balanced, and every `&` starts a known entity.
    fn assert_well_formed(svg: &str) {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            assert!(!text.contains('>'), "stray '>' in text: {text:?}");
            check_entities(text);
            let close = rest[open..]
                .find('>')
                .map(|c| open + c)
                .expect("unclosed tag");
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "'<' inside tag: {tag:?}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes: {tag:?}"
            );
            check_entities(tag);
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "mismatched </{name}>"
                );
            } else {
                let name: String = tag
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/')
                    .collect();
                if stack.is_empty() {
                    roots += 1;
                    assert_eq!(name, "svg");
                }
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(rest.trim(), "");
        assert_eq!(roots, 1);
    }

    fn check_entities(s: &str) {
        for (i, _) in s.match_indices('&') {
            let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| s[i..].starts_with(e));
            assert!(ok, "bare '&' in {s:?}");
        }
    }

    fn numbers_in(attr: &str, svg: &str) -> Vec<f64> {
        let key = format!("{attr}=\"");
        svg.match_indices(&key)
            .flat_map(|(i, _)| {
                let start = i + key.len();
                let end = start + svg[start..].find('"').expect("closing quote");
                svg[start..end]
                    .split([' ', ','])
                    .filter(|t| !t.is_empty())
                    .map(|t| t.parse::<f64>().expect("numeric attribute"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn writes_all_files_with_table_ratios_and_pass_wording() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("nested");
        let cmd = "arcanum bench compare --latencies 0,20 --duration 10";
        let report = write_compare_report(&out, &passing(), cmd, "2 cores, 4 GiB, Linux 6.8")
            .expect("write");
        assert_eq!(report, out.join("report.md"));
        for f in ["report.md", "throughput.svg", "latency.svg", "results.json"] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let md = read(&out, "report.md");
        assert!(md.starts_with("# "));
        assert!(md.contains(&format!("```sh\n{cmd}\n```")));
        assert!(md.contains("Machine: 2 cores, 4 GiB, Linux 6.8"));
        // Rows sorted by latency, hosted before fabric.
        let rows = [
            "| hosted | 0.0 | 2500.0 | 4.00 | 9.00 | 0.600 | 0.150 | 123.4 |",
            "| fabric | 0.0 | 1800.0 | 10.00 | 20.00 | 0.300 | 0.075 | 123.4 |",
            "| hosted | 20.0 | 1500.0 | 30.00 | 50.00 | 0.400 | 0.100 | 123.4 |",
            "| fabric | 20.0 | 1000.0 | 80.00 | 120.00 | 0.200 | 0.050 | 123.4 |",
        ];
        let mut last = 0;
        for r in rows {
            let at = md
                .find(r)
                .unwrap_or_else(|| panic!("row {r:?} missing in\n{md}"));
            assert!(at > last, "row {r:?} out of order");
            last = at;
        }
        assert!(md.contains("![Committed throughput vs cross-domain latency](throughput.svg)"));
        assert!(md.contains("](latency.svg)"));
        // Ratios: 0 ms → 4/10 = 0.400, 2500/1800 = 1.389; 20 ms → 30/80 = 0.375, 1.5.
        assert!(md.contains("| 0.0 | 0.400 | 1.389 |"), "{md}");
        assert!(md.contains("| 20.0 | 0.375 | 1.500 |"), "{md}");
        assert_eq!(md.matches("**PASS**").count(), 4, "{md}");
        assert!(!md.contains("FAIL"));
        assert!(md.contains("Summary: 4 of 4 targets hold. No shortfalls."));

        let json: serde_json::Value =
            serde_json::from_str(&read(&out, "results.json")).expect("valid json");
        assert_eq!(json["command"], cmd);
        assert_eq!(json["points"].as_array().map(Vec::len), Some(4));
        assert_eq!(json["points"][0]["flow"], "hosted");
        assert_eq!(json["findings"]["targets"][0]["status"], "pass");
        let back: Vec<ComparePoint> =
            serde_json::from_value(json["points"].clone()).expect("points round-trip");
        assert_eq!(back[3].latency_p99_ms, 120.0);
    }

    #[test]
    fn shortfalls_are_reported_as_fail_with_amounts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let points = vec![
            pt("hosted", 0.0, 1500.0, 5.0, 9.0, 0.4),
            pt("fabric", 20.0, 1000.0, 50.0, 90.0, 0.2),
            pt("hosted", 20.0, 900.0, 30.0, 60.0, 0.3),
        ];
        let report = write_compare_report(dir.path(), &points, "c", "m").expect("write");
        let md = std::fs::read_to_string(report).expect("read");
        // 30 > 0.5 × 50 = 25 → FAIL by 5 ms; 900 < 1000 → FAIL by 100 tx/s.
        assert!(md.contains("- **FAIL**: at 20 ms: hosted p50 ≤ 0.5 × fabric p50: hosted 30.00 ms vs limit 25.00 ms"), "{md}");
        assert!(
            md.contains("ratio 0.600; shortfall: 5.00 ms over the limit"),
            "{md}"
        );
        assert!(md.contains("- **FAIL**: at 20 ms: hosted throughput ≥ fabric throughput: hosted 900.0 tx/s vs fabric 1000.0 tx/s; ratio 0.900; shortfall: 100.0 tx/s"), "{md}");
        assert!(
            md.contains(
                "- **FAIL**: at 0 ms: hosted ≥ 2000 tx/s: hosted 1500.0 tx/s; shortfall: 500.0 tx/s"
            ),
            "{md}"
        );
        assert!(md.contains("- **FAIL**: at 0 ms: hosted fraction of bound ≥ 0.50: hosted fraction of bound 0.400; shortfall: 0.100"), "{md}");
        assert!(
            md.contains("Summary: 0 of 4 targets hold. Shortfalls: "),
            "{md}"
        );
        // Only 20 ms has both flows.
        assert!(md.contains("| 20.0 | 0.600 | 0.900 |"));
        assert!(!md.contains("| 0.0 | n/a"));
        let json: serde_json::Value =
            serde_json::from_str(&read(dir.path(), "results.json")).expect("json");
        assert_eq!(json["findings"]["ratios"].as_array().map(Vec::len), Some(1));
        assert_eq!(json["findings"]["targets"][1]["status"], "fail");
    }

    #[test]
    fn missing_points_are_not_evaluated_never_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let points = vec![pt("hosted", 5.0, 3000.0, 1.0, 2.0, 0.9)];
        write_compare_report(dir.path(), &points, "c", "m").expect("write");
        let md = read(dir.path(), "report.md");
        assert_eq!(md.matches("**NOT EVALUATED**").count(), 4, "{md}");
        assert!(md.contains("no hosted and no fabric point at 20 ms"));
        assert!(md.contains("no hosted point at 0 ms"));
        assert!(md.contains("No cross-domain latency has both a hosted and a fabric point."));
        assert!(md.contains("Summary: 0 of 4 targets hold."));
        // A single point still gives a plottable chart with one polyline and one marker.
        let svg = read(dir.path(), "throughput.svg");
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(
            svg.matches("<circle").count(),
            2,
            "data marker + legend marker"
        );
    }

    #[test]
    fn svgs_are_well_formed_with_one_polyline_per_flow_and_legend() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut points = passing();
        points.push(pt("fabric", 50.0, 600.0, 200.0, 300.0, 0.1));
        points.push(pt("hosted", 50.0, 1400.0, 60.0, 90.0, 0.4));
        write_compare_report(dir.path(), &points, "c", "m").expect("write");
        for name in ["throughput.svg", "latency.svg"] {
            let svg = read(dir.path(), name);
            assert_well_formed(&svg);
            assert!(svg.contains("version=\"1.1\""));
            assert_eq!(svg.matches("<polyline").count(), 2, "{name}");
            assert!(svg.contains("data-flow=\"hosted\""));
            assert!(svg.contains("data-flow=\"fabric\""));
            assert!(svg.contains("stroke=\"#1f77b4\"") && svg.contains("stroke=\"#ff7f0e\""));
            assert!(svg.contains(">hosted</text>") && svg.contains(">fabric</text>"));
            // Every coordinate is inside the canvas.
            for v in numbers_in("points", &svg)
                .into_iter()
                .chain(numbers_in("cx", &svg))
                .chain(numbers_in("cy", &svg))
            {
                assert!((0.0..=SVG_H.max(SVG_W)).contains(&v), "{v} out of canvas");
            }
        }
        let tp = read(dir.path(), "throughput.svg");
        assert!(tp.contains("committed tx/s"));
        // Y axis: 0 up to a nice max ≥ 2500 (step 500 → ticks 0..2500).
        assert!(
            tp.contains(">0</text>") && tp.contains(">2500</text>"),
            "{tp}"
        );
        let lat = read(dir.path(), "latency.svg");
        assert!(lat.contains("p50 latency (ms)"));
        assert!(lat.contains(">200</text>"), "{lat}");
    }

    #[test]
    fn nan_values_are_skipped_in_plots_and_shown_as_na() {
        let dir = tempfile::tempdir().expect("tempdir");
        let points = vec![
            pt("hosted", 0.0, f64::NAN, 4.0, 9.0, 0.6),
            pt("hosted", 10.0, 2000.0, 5.0, 9.0, 0.6),
            pt("hosted", f64::NAN, 2000.0, 5.0, 9.0, 0.6),
            pt("fabric", 0.0, 1000.0, f64::INFINITY, 9.0, 0.3),
            pt("fabric", 20.0, f64::NAN, f64::NAN, f64::NAN, f64::NAN),
            pt("hosted", 20.0, 1500.0, 30.0, 50.0, 0.4),
        ];
        write_compare_report(dir.path(), &points, "c", "m").expect("write");
        let tp = read(dir.path(), "throughput.svg");
        assert_well_formed(&tp);
        assert!(!tp.contains("NaN") && !tp.contains("inf"), "{tp}");
        // hosted: 10 ms and 20 ms are finite (0 ms NaN y, NaN x skipped) → 2 markers + legend.
        assert_eq!(tp.matches("<circle").count(), 3, "{tp}");
        // fabric has one finite throughput (0 ms) → one polyline each.
        assert_eq!(tp.matches("<polyline").count(), 2);
        let lat = read(dir.path(), "latency.svg");
        assert_well_formed(&lat);
        // fabric p50: ∞ and NaN → no data, only hosted's line.
        assert_eq!(lat.matches("<polyline").count(), 1);
        assert!(lat.contains(">fabric (no data)</text>"));

        let md = read(dir.path(), "report.md");
        assert!(md.contains("| hosted | 0.0 | n/a | 4.00 |"), "{md}");
        assert!(md.contains("| hosted | n/a | 2000.0 |"), "{md}");
        assert!(
            md.contains("| fabric | 20.0 | n/a | n/a | n/a | n/a | n/a | 123.4 |"),
            "{md}"
        );
        // NaN row sorts last.
        assert!(md.find("| hosted | n/a").expect("row") > md.find("| fabric | 20.0").expect("row"));
        // Ratios with a non-finite operand are n/a; targets on them are not evaluated.
        assert!(md.contains("| 0.0 | n/a | n/a |"), "{md}");
        assert!(md.contains("| 20.0 | n/a | n/a |"), "{md}");
        assert!(
            md.contains("**NOT EVALUATED**: at 20 ms: hosted p50"),
            "{md}"
        );
        assert!(
            md.contains("**NOT EVALUATED**: at 0 ms: hosted ≥ 2000 tx/s"),
            "{md}"
        );
        assert!(
            md.contains("**PASS**: at 0 ms: hosted fraction of bound"),
            "{md}"
        );
        // NaN becomes null in JSON, which is still valid JSON.
        let json: serde_json::Value =
            serde_json::from_str(&read(dir.path(), "results.json")).expect("json");
        assert!(json["points"][0]["committed_tx_per_s"].is_null());
    }

    #[test]
    fn empty_input_still_writes_valid_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_compare_report(dir.path(), &[], "c", "m").expect("write");
        for name in ["throughput.svg", "latency.svg"] {
            let svg = read(dir.path(), name);
            assert_well_formed(&svg);
            assert!(svg.contains(">no data</text>"));
            assert!(!svg.contains("<polyline"));
        }
        assert!(read(dir.path(), "report.md").contains("| (no points) |"));
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let points = vec![pt("a<b>&\"c'|d", 1.0, 10.0, 1.0, 2.0, 0.1)];
        let cmd = "arcanum bench compare --note '```' && echo <x>";
        write_compare_report(dir.path(), &points, cmd, "box | <i>").expect("write");
        for name in ["throughput.svg", "latency.svg"] {
            let svg = read(dir.path(), name);
            assert_well_formed(&svg);
            assert!(svg.contains("a&lt;b&gt;&amp;&quot;c&apos;|d"));
        }
        let md = read(dir.path(), "report.md");
        // The command sits verbatim inside a fence longer than any backtick run in it.
        assert!(md.contains(&format!("````sh\n{cmd}\n````")), "{md}");
        assert!(md.contains("Machine: box \\| &lt;i&gt;"));
        assert!(md.contains("| a&lt;b&gt;&amp;\"c'\\|d | 1.0 |"), "{md}");
    }

    #[test]
    fn output_is_deterministic_and_order_independent() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let mut points = passing();
        points.push(pt("zeta", 20.0, 10.0, 1.0, 2.0, 0.1));
        points.push(pt("alpha", 0.0, 10.0, 1.0, 2.0, 0.1));
        write_compare_report(a.path(), &points, "c", "m").expect("write");
        points.reverse();
        write_compare_report(b.path(), &points, "c", "m").expect("write");
        for f in ["report.md", "throughput.svg", "latency.svg", "results.json"] {
            assert_eq!(read(a.path(), f), read(b.path(), f), "{f} differs");
        }
        // Extra flows get their own colours, after hosted and fabric.
        let tp = read(a.path(), "throughput.svg");
        assert!(tp.find("data-flow=\"fabric\"") < tp.find("data-flow=\"alpha\""));
        assert!(tp.find("data-flow=\"alpha\"") < tp.find("data-flow=\"zeta\""));
        assert!(tp.contains("stroke=\"#2ca02c\"") && tp.contains("stroke=\"#9467bd\""));
    }

    #[test]
    fn latencies_pair_within_a_microsecond_and_duplicates_are_noted() {
        let sorted_src = vec![
            pt("hosted", 20.000_000_1, 1500.0, 30.0, 50.0, 0.4),
            pt("fabric", 20.0, 1000.0, 80.0, 120.0, 0.2),
            pt("fabric", 20.0, 1.0, 1.0, 1.0, 0.2),
        ];
        let sorted = sorted_points(&sorted_src);
        let f = compute_findings(&sorted);
        assert_eq!(f.ratios.len(), 1);
        assert_eq!(f.ratios[0].p50_ratio, Some(30.0 / 80.0));
        assert_eq!(f.duplicates_ignored, 1);
        assert_eq!(f.targets[0].status, Status::Pass);
        assert_eq!(f.targets[1].status, Status::Pass);
    }

    #[test]
    fn nice_axes() {
        let a = Axis::covering([0.0, 2345.0].into_iter());
        assert_eq!((a.lo, a.hi, a.step), (0.0, 2500.0, 500.0));
        assert_eq!(a.ticks().len(), 6);
        let single = Axis::covering([0.0].into_iter());
        assert_eq!((single.lo, single.hi), (0.0, 1.0));
        assert_eq!(single.decimals(), 1);
        let small = Axis::covering([0.37].into_iter());
        assert_eq!(small.step, 0.1);
        assert!(small.hi >= 0.37 && small.hi <= 0.41);
        assert_eq!(fmt_num(-0.0001, 2), "0.00");
        assert_eq!(fmt_num(f64::NAN, 2), "n/a");
    }
}
