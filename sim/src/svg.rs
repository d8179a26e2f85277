//! `--svg FILE`: the run as a picture, from the first migration on.
//!
//! One lane per GT (its tile and kind in the label) under a lane for the VF as a whole; on a
//! GT's lane a box per mailbox round trip, from the doorbell to the reply that ends it,
//! coloured by action, with BUSY, RETRY, FAILURE, malformed and lost replies marked; the
//! SW_INT_0 deliveries; the hook calls (a lettered dot each); the GT's blackout (from the
//! migration that stopped it to the VF's read of the GuC's SUCCESS to RESFIX_DONE: up to one
//! poll later than the mock's blackout of the timeline and summary, which ends at the answer). Each VM migration is a
//! dashed line across the lanes. The axis is virtual time in microseconds; events at the same
//! instant (with a GuC that answers at once, most of them) are drawn one step apart in the
//! order they happened, so the axis is stretched there and its ticks say where time moved.
//!
//! The picture is a function of the run (no wall-clock figure in it): the same options draw
//! the same bytes. Each lane, box, delivery and hook dot carries `class` and `data-*`
//! attributes (`data-gt`, `data-action`, `data-outcome`, `data-busy`) for tests and tools.

use std::fmt::Write as _;

use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::hxg::Reply;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Request;
use xe_sriov_vf::TileId;

use crate::trace::{Event, Events, What};

/// What the picture is drawn from.
pub struct Input<'a> {
    /// The scenario, in a line.
    pub title: &'a str,
    /// Each GT's tile and kind.
    pub layout: &'a [(TileId, GtKind)],
    /// The run's events.
    pub events: &'a Events,
}

/// Left margin: the lane labels.
const LEFT: f64 = 170.0;
const RIGHT: f64 = 150.0;
/// Room for the title and the legend.
const MIN_WIDTH: f64 = 1240.0;
/// Title and legend.
const TOP: f64 = 96.0;
const LANE_H: f64 = 64.0;
/// The VF's lane (migrations, device-level hooks).
const VF_LANE_H: f64 = 40.0;
/// The axis under the lanes.
const AXIS_H: f64 = 56.0;
/// How far apart two events at the same instant are drawn.
const STEP: f64 = 9.0;
/// The width the virtual time itself gets, when time moves at all.
const TIME_WIDTH: f64 = 900.0;
/// Bounds of the scale of virtual time, px per us.
const MIN_PX_PER_US: f64 = 0.02;
const MAX_PX_PER_US: f64 = 6.0;

/// The kinds of round trip, by the request's action, with their colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Start,
    Query,
    Done,
    Other,
}

impl Kind {
    fn of(action: u16) -> Kind {
        match action {
            code::RESFIX_START => Kind::Start,
            code::QUERY_SINGLE_KLV => Kind::Query,
            code::RESFIX_DONE => Kind::Done,
            _ => Kind::Other,
        }
    }
    fn colour(self) -> &'static str {
        match self {
            Kind::Start => "#4e79a7",
            Kind::Query => "#59a14f",
            Kind::Done => "#f28e2b",
            Kind::Other => "#9c9c9c",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Kind::Start => "RESFIX_START",
            Kind::Query => "QUERY_SINGLE_KLV",
            Kind::Done => "RESFIX_DONE",
            Kind::Other => "other request",
        }
    }
}

/// How a round trip ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Retry,
    Failure(String),
    Malformed,
    Lost,
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Retry => "retry",
            Outcome::Failure(_) => "failure",
            Outcome::Malformed => "malformed",
            Outcome::Lost => "lost",
        }
    }
}

/// One mailbox round trip on a GT.
struct RoundTrip {
    gt: u8,
    action: u16,
    request: MmioMessage,
    x0: f64,
    x1: f64,
    busy: u32,
    outcome: Outcome,
}

/// A GT's blackout: from the migration that stopped it to its accepted RESFIX_DONE.
struct Blackout {
    gt: u8,
    x0: f64,
    x1: f64,
    /// Virtual microseconds, `None` if it had not ended when the run did.
    us: Option<u64>,
    /// The migration that began it.
    k: u64,
}

/// A request whose reply is still awaited.
struct Open {
    action: u16,
    request: MmioMessage,
    x0: f64,
    busy: u32,
}

/// Renders the picture.
pub fn render(input: &Input<'_>) -> String {
    let gts = input.layout.len();
    let first = input
        .events
        .list
        .iter()
        .position(|e| matches!(e.what, What::Migration(_)));
    let events: &[Event] = first.map_or(&[], |i| &input.events.list[i..]);
    let xs = positions(events);
    let (trips, blackouts) = round_trips(events, &xs, gts);
    let plot_w = xs.last().copied().unwrap_or(0.0) + STEP;
    let width = (LEFT + plot_w + RIGHT).max(MIN_WIDTH);
    let lanes_top = TOP + VF_LANE_H;
    let height = lanes_top + LANE_H * gts as f64 + AXIS_H;
    let lane_y = |gt: u8| lanes_top + LANE_H * f64::from(gt);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="11">"#,
        w = px(width),
        h = px(height)
    );
    let _ = writeln!(s, "<title>xe-sriov-vf-sim: {}</title>", esc(input.title));
    let _ = writeln!(
        s,
        r##"<rect class="background" x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##,
        px(width),
        px(height)
    );
    let _ = writeln!(
        s,
        r#"<text x="12" y="20" font-size="14" font-weight="bold">xe-sriov-vf-sim: {}</text>"#,
        esc(input.title)
    );
    let subtitle = if first.is_none() {
        "no migration: nothing to draw".to_string()
    } else {
        let mut t = "from the first migration on (bootstrap not drawn); time: the mocks' virtual \
                     clock, in us"
            .to_string();
        if input.events.dropped > 0 {
            let _ = write!(
                t,
                "; only the first {} events drawn ({} more not)",
                input.events.list.len(),
                input.events.dropped
            );
        }
        t
    };
    let _ = writeln!(
        s,
        r##"<text x="12" y="38" fill="#555555">{}</text>"##,
        esc(&subtitle)
    );
    legend(&mut s, 12.0, 58.0);

    // Lanes.
    let _ = writeln!(
        s,
        r##"<g class="lane vf"><rect x="0" y="{}" width="{}" height="{}" fill="#f4f4f4"/><text x="12" y="{}" font-weight="bold">VF</text><text x="12" y="{}" fill="#555555" font-size="10">migrations, device hooks</text></g>"##,
        px(TOP),
        px(width),
        px(VF_LANE_H),
        px(TOP + 17.0),
        px(TOP + 31.0)
    );
    for (i, (tile, kind)) in input.layout.iter().enumerate() {
        let y = lane_y(i as u8);
        let kind = if *kind == GtKind::Primary {
            "primary"
        } else {
            "media"
        };
        let _ = writeln!(
            s,
            r##"<g class="lane" data-gt="{i}" data-tile="{t}"><rect x="0" y="{y}" width="{w}" height="{h}" fill="{fill}"/><text x="12" y="{ty}" font-weight="bold">gt{i}</text><text x="12" y="{ky}" fill="#555555" font-size="10">tile{t} {kind}</text></g>"##,
            t = tile.0,
            y = px(y),
            w = px(width),
            h = px(LANE_H),
            fill = if i % 2 == 0 { "#ffffff" } else { "#fafafa" },
            ty = px(y + 24.0),
            ky = px(y + 38.0),
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#cccccc"/>"##,
        x = px(LEFT - 8.0),
        y0 = px(TOP),
        y1 = px(lanes_top + LANE_H * gts as f64)
    );

    // Blackouts, under the boxes.
    for b in &blackouts {
        let y = lane_y(b.gt) + LANE_H - 9.0;
        let what = b.us.map_or(
            format!("blackout from migration {} (not ended)", b.k),
            |us| format!("blackout {us} us from migration {}", b.k),
        );
        let _ = writeln!(
            s,
            r##"<g class="blackout" data-gt="{gt}" data-k="{k}" data-us="{us}"><rect x="{x}" y="{y}" width="{w}" height="5" fill="#c0392b" fill-opacity="0.55"><title>gt{gt}: {what}</title></rect><text x="{tx}" y="{ty}" font-size="9" fill="#c0392b">{what}</text></g>"##,
            gt = b.gt,
            k = b.k,
            us = b.us.map_or("none".to_string(), |us| us.to_string()),
            x = px(LEFT + b.x0),
            y = px(y),
            w = px((b.x1 - b.x0).max(2.0)),
            tx = px(LEFT + b.x0 + (b.x1 - b.x0).max(2.0) + 4.0),
            ty = px(y + 5.0),
        );
    }

    // Round trips.
    for t in &trips {
        let y = lane_y(t.gt) + 8.0;
        let kind = Kind::of(t.action);
        let w = (t.x1 - t.x0).max(4.0);
        let (stroke, dash, fill_opacity) = match t.outcome {
            Outcome::Ok => ("#333333", "", "1"),
            Outcome::Retry => ("#7b3294", r#" stroke-dasharray="3 2""#, "0.6"),
            Outcome::Failure(_) | Outcome::Malformed => ("#d62728", "", "1"),
            Outcome::Lost => ("#d62728", r#" stroke-dasharray="2 2""#, "0.25"),
        };
        let stroke_w = if t.outcome == Outcome::Ok {
            "0.6"
        } else {
            "1.6"
        };
        let request = Request::decode(t.request.as_slice())
            .map_or(format!("request {:#010x}", t.request.header()), |r| {
                format!("{r:?}")
            });
        let mut tip = format!("gt{}: {request}: {}", t.gt, t.outcome.name());
        if let Outcome::Failure(e) = &t.outcome {
            let _ = write!(tip, " {e}");
        }
        if t.busy > 0 {
            let _ = write!(tip, ", after {} BUSY", t.busy);
        }
        let _ = writeln!(
            s,
            r#"<rect class="rt" data-gt="{gt}" data-action="{action:#06x}" data-outcome="{outcome}" data-busy="{busy}" x="{x}" y="{y}" width="{w}" height="22" fill="{fill}" fill-opacity="{fill_opacity}" stroke="{stroke}" stroke-width="{stroke_w}"{dash}><title>{tip}</title></rect>"#,
            gt = t.gt,
            action = t.action,
            outcome = t.outcome.name(),
            busy = t.busy,
            x = px(LEFT + t.x0),
            y = px(y),
            w = px(w),
            fill = kind.colour(),
            tip = esc(&tip),
        );
        let mark = match &t.outcome {
            Outcome::Ok => None,
            Outcome::Retry => Some("RETRY".to_string()),
            Outcome::Failure(e) => Some(e.clone()),
            Outcome::Malformed => Some("malformed".to_string()),
            Outcome::Lost => Some("lost".to_string()),
        };
        let mut label = Vec::new();
        if t.busy > 0 {
            label.push(format!("BUSY x{}", t.busy));
        }
        label.extend(mark);
        if !label.is_empty() {
            let _ = writeln!(
                s,
                r##"<text class="mark" x="{}" y="{}" font-size="9" fill="#d62728">{}</text>"##,
                px(LEFT + t.x0),
                px(y - 1.5),
                esc(&label.join(" "))
            );
        }
    }

    // Migrations, deliveries and hook calls.
    for (e, x) in events.iter().zip(&xs) {
        let x = LEFT + x;
        match (&e.what, e.gt) {
            (What::Migration(k), _) => {
                let _ = writeln!(
                    s,
                    r##"<g class="migration" data-k="{k}"><line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#222222" stroke-dasharray="5 3"/><text x="{tx}" y="{ty}" font-size="10" font-weight="bold">migration {k}</text></g>"##,
                    x = px(x),
                    y0 = px(TOP + 4.0),
                    y1 = px(lanes_top + LANE_H * gts as f64),
                    tx = px(x + 3.0),
                    ty = px(TOP + 14.0),
                );
            }
            (What::Irq, Some(gt)) => {
                let y = lane_y(gt) + 4.0;
                let _ = writeln!(
                    s,
                    r##"<path class="irq" data-gt="{gt}" d="M{x0} {y0} L{x1} {y0} L{x} {y1} Z" fill="#e31a1c"><title>gt{gt}: SW_INT_0 delivered at {us} us</title></path>"##,
                    x0 = px(x - 4.0),
                    x1 = px(x + 4.0),
                    x = px(x),
                    y0 = px(y - 3.0),
                    y1 = px(y + 5.0),
                    us = e.at.0 / 1000,
                );
            }
            (What::Hook { name, detail }, gt) => {
                let y = match gt {
                    Some(gt) => lane_y(gt) + 40.0,
                    None => TOP + 30.0,
                };
                let _ = writeln!(
                    s,
                    r##"<g class="hook" data-hook="{name}"{gt_attr}><circle cx="{x}" cy="{y}" r="5" fill="{fill}"><title>{name} {detail}</title></circle><text x="{x}" y="{ty}" font-size="7" fill="#ffffff" text-anchor="middle">{letter}</text></g>"##,
                    gt_attr = gt.map_or(String::new(), |g| format!(r#" data-gt="{g}""#)),
                    x = px(x),
                    y = px(y),
                    ty = px(y + 2.5),
                    fill = hook_colour(name),
                    letter = hook_letter(name),
                    detail = esc(detail),
                );
            }
            _ => {}
        }
    }

    axis(&mut s, events, &xs, lanes_top + LANE_H * gts as f64);
    s.push_str("</svg>\n");
    s
}

/// The x of each event (from 0): one step after the previous one, plus the virtual time in
/// between at a scale that gives the run's time about [`TIME_WIDTH`].
fn positions(events: &[Event]) -> Vec<f64> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Vec::new();
    };
    let span_us = last.at.0.saturating_sub(first.at.0) as f64 / 1000.0;
    let scale = if span_us > 0.0 {
        (TIME_WIDTH / span_us).clamp(MIN_PX_PER_US, MAX_PX_PER_US)
    } else {
        0.0
    };
    let mut xs = Vec::with_capacity(events.len());
    let mut x = 0.0;
    let mut prev = first.at.0;
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            x += STEP + e.at.0.saturating_sub(prev) as f64 / 1000.0 * scale;
        }
        prev = e.at.0;
        xs.push(x);
    }
    xs
}

/// The round trips and blackouts of every GT.
fn round_trips(events: &[Event], xs: &[f64], gts: usize) -> (Vec<RoundTrip>, Vec<Blackout>) {
    let mut trips = Vec::new();
    let mut open: Vec<Option<Open>> = (0..gts).map(|_| None).collect();
    // Each GT's blackout in progress: where and when it began.
    let mut stopped: Vec<Option<(f64, u64, u64)>> = vec![None; gts];
    let mut blackouts = Vec::new();
    let end = xs.last().copied().unwrap_or(0.0);
    for (e, &x) in events.iter().zip(xs) {
        match (&e.what, e.gt) {
            (What::Migration(k), _) => {
                for s in stopped.iter_mut().filter(|s| s.is_none()) {
                    *s = Some((x, e.at.0, *k));
                }
            }
            (What::Request(msg), Some(gt)) => {
                let g = usize::from(gt);
                if let Some(prev) = open[g].take() {
                    trips.push(close(gt, prev, x - STEP / 2.0, Outcome::Lost));
                }
                open[g] = Some(Open {
                    action: (msg.header() & 0xFFFF) as u16,
                    request: *msg,
                    x0: x,
                    busy: 0,
                });
            }
            (What::Reply(msg), Some(gt)) => {
                let g = usize::from(gt);
                let Some(o) = open[g].as_mut() else { continue };
                let outcome = match Reply::decode(msg.header()) {
                    Ok(Reply::Busy { .. }) => {
                        o.busy += 1;
                        continue;
                    }
                    Ok(Reply::Retry { .. }) => Outcome::Retry,
                    Ok(Reply::Success { .. }) => Outcome::Ok,
                    Ok(Reply::Failure { error, .. }) => Outcome::Failure(error.to_string()),
                    Err(_) => Outcome::Malformed,
                };
                let Some(o) = open[g].take() else { continue };
                let done = o.action == code::RESFIX_DONE && outcome == Outcome::Ok;
                trips.push(close(gt, o, x, outcome));
                if done {
                    if let Some((x0, t0, k)) = stopped[g].take() {
                        blackouts.push(Blackout {
                            gt,
                            x0,
                            x1: x,
                            us: Some(e.at.0.saturating_sub(t0) / 1000),
                            k,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for (g, o) in open.into_iter().enumerate() {
        if let Some(o) = o {
            trips.push(close(g as u8, o, end + STEP / 2.0, Outcome::Lost));
        }
    }
    for (g, s) in stopped.into_iter().enumerate() {
        if let Some((x0, _, k)) = s {
            blackouts.push(Blackout {
                gt: g as u8,
                x0,
                x1: end + STEP,
                us: None,
                k,
            });
        }
    }
    (trips, blackouts)
}

fn close(gt: u8, o: Open, x1: f64, outcome: Outcome) -> RoundTrip {
    RoundTrip {
        gt,
        action: o.action,
        request: o.request,
        x0: o.x0,
        x1,
        busy: o.busy,
        outcome,
    }
}

/// The time axis: ticks where virtual time moved, labelled in us (at least 60 px apart).
fn axis(s: &mut String, events: &[Event], xs: &[f64], y: f64) {
    let y = y + 10.0;
    let end = xs.last().copied().unwrap_or(0.0) + STEP;
    let _ = writeln!(
        s,
        r##"<g class="axis"><line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#333333"/>"##,
        x0 = px(LEFT),
        x1 = px(LEFT + end),
        y = px(y)
    );
    let mut last_label = f64::NEG_INFINITY;
    let mut prev: Option<u64> = None;
    for (e, &x) in events.iter().zip(xs) {
        let moved = prev != Some(e.at.0);
        prev = Some(e.at.0);
        if !moved {
            continue;
        }
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#333333"/>"##,
            x = px(LEFT + x),
            y0 = px(y),
            y1 = px(y + 5.0)
        );
        if x - last_label >= 60.0 {
            last_label = x;
            let _ = writeln!(
                s,
                r#"<text class="tick" x="{x}" y="{ty}" font-size="9" text-anchor="middle">{us}</text>"#,
                x = px(LEFT + x),
                ty = px(y + 16.0),
                us = fmt_us(e.at.0),
            );
        }
    }
    let _ = writeln!(
        s,
        r##"<text x="{x}" y="{ty}" font-size="10" fill="#555555">virtual time (us); events at one instant are drawn a step apart, in the order they happened</text></g>"##,
        x = px(LEFT),
        ty = px(y + 34.0)
    );
}

/// The legend: the colours, the marks, the hook letters.
fn legend(s: &mut String, x: f64, y: f64) {
    let _ = writeln!(s, r#"<g class="legend" font-size="10">"#);
    let mut cx = x;
    for kind in [Kind::Start, Kind::Query, Kind::Done, Kind::Other] {
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="14" height="10" fill="{}" stroke="#333333" stroke-width="0.6"/><text x="{}" y="{}">{}</text>"##,
            px(cx),
            px(y - 9.0),
            kind.colour(),
            px(cx + 18.0),
            px(y),
            kind.label()
        );
        cx += 34.0 + 6.5 * kind.label().len() as f64;
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" fill="#d62728">red label: BUSY xN, RETRY, FAILURE, malformed or lost reply</text>"##,
        px(cx),
        px(y)
    );
    let y2 = y + 18.0;
    let _ = writeln!(
        s,
        r##"<path d="M{} {} L{} {} L{} {} Z" fill="#e31a1c"/><text x="{}" y="{}">SW_INT_0 delivered</text>"##,
        px(x),
        px(y2 - 9.0),
        px(x + 8.0),
        px(y2 - 9.0),
        px(x + 4.0),
        px(y2 - 1.0),
        px(x + 12.0),
        px(y2)
    );
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="{}" width="22" height="5" fill="#c0392b" fill-opacity="0.55"/><text x="{}" y="{}">blackout (migration to the VF reading RESFIX_DONE accepted)</text>"##,
        px(x + 130.0),
        px(y2 - 6.0),
        px(x + 156.0),
        px(y2)
    );
    let mut hx = x + 520.0;
    let _ = writeln!(s, r#"<text x="{}" y="{}">hooks:</text>"#, px(hx), px(y2));
    hx += 40.0;
    for name in [
        "pm_get",
        "pm_put",
        "shutdown",
        "ggtt_fixup",
        "gt_fixups",
        "rearm",
        "kickstart",
        "hold",
        "abort",
        "wedged",
    ] {
        let _ = writeln!(
            s,
            r##"<circle cx="{}" cy="{}" r="5" fill="{}"/><text x="{}" y="{}" font-size="7" fill="#ffffff" text-anchor="middle">{}</text><text x="{}" y="{}">{}</text>"##,
            px(hx),
            px(y2 - 3.5),
            hook_colour(name),
            px(hx),
            px(y2 - 1.0),
            hook_letter(name),
            px(hx + 8.0),
            px(y2),
            name
        );
        hx += 20.0 + 6.0 * name.len() as f64;
    }
    let _ = writeln!(s, "</g>");
}

fn hook_letter(name: &str) -> &'static str {
    match name {
        "pm_get" => "P",
        "pm_put" => "p",
        "shutdown" => "S",
        "ggtt_fixup" => "G",
        "gt_fixups" => "F",
        "rearm" => "R",
        "kickstart" => "K",
        "hold" => "H",
        "abort" => "A",
        "wedged" => "W",
        _ => "?",
    }
}

fn hook_colour(name: &str) -> &'static str {
    match name {
        "abort" | "wedged" => "#d62728",
        "hold" => "#bbbbbb",
        "ggtt_fixup" => "#8c564b",
        "pm_get" | "pm_put" => "#7f7f7f",
        _ => "#555555",
    }
}

/// Virtual nanoseconds as microseconds, with one decimal when not whole.
fn fmt_us(ns: u64) -> String {
    if ns.is_multiple_of(1000) {
        format!("{}", ns / 1000)
    } else {
        format!("{}.{}", ns / 1000, ns % 1000 / 100)
    }
}

/// A coordinate, rounded to 0.1 px.
fn px(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Text for XML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
