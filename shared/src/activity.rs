//! What the app was doing at any instant of a run, from its requests' own records.
//!
//! Frames sample the app ten times a second, and a short run's busiest moment falls between two
//! of them. Every request's [`RequestRecord`] says exactly when it arrived, asked for a
//! connection, got one, gave it back and was answered; so the app's figures (requests in flight,
//! waiting for a connection, opening one, connections in use) are counted from those instants,
//! the same way for the run's summary, for its picture and for any test. The server's figures
//! (`pg_stat_activity`) stay what they are: readings taken at sampling instants.
//!
//! Each figure has one definition (its `pub const` text, which the page's captions show) and one
//! function, [`AppFigure::span`]: the stretch of a request's time it counts. Everything else is
//! counting those spans:
//!
//! - **Spans are half-open**, `[from, to)`: a request is counted from its `from` instant on, and
//!   no longer at its `to`. So one that ends at the very instant another begins is never counted
//!   with it, and an empty span (`from == to`) is never counted at all.
//! - [`AppFigure::at`]: how many spans contain the instant `t`.
//! - [`AppFigure::peak`]: the most at any instant, and the first instant it was reached.
//!
//! Times are milliseconds from the run's start, as the records hold them.

use crate::lesson::Moment;
use crate::timeline::{RequestRecord, RunEvent, RunEventKind};

/// How every figure of this module is counted (the page's captions show it).
pub const COUNTING: &str = "Counted from every request's own record at exact instants: a request counts from the \
     instant its part began up to, not including, the instant it ended. A peak is the most at any instant, at the \
     first instant it was reached.";

/// [`AppFigure::InFlight`]'s definition.
pub const IN_FLIGHT: &str = "Requests in flight: requests that had arrived and were not yet answered (or failed), \
     from their arrival to their answer.";
/// [`AppFigure::Waiting`]'s definition.
pub const WAITING: &str = "Requests waiting for a connection: requests that had asked their pool for a connection \
     and were not yet given one (or had not yet given up).";
/// [`AppFigure::Connecting`]'s definition.
pub const CONNECTING: &str = "Requests opening a connection: requests of an app without a pool that had begun \
     opening their own connection (TCP, startup, authentication) and not yet finished (or failed).";
/// [`AppFigure::Holding`]'s definition.
pub const HOLDING: &str = "Connections in use: connections requests held, from the instant they got one (their own \
     connected, or the pool handed it over) to the instant they gave it back (closed it, or handed it back to the \
     pool). A leaked connection is never given back while the run goes.";
/// [`server_peak`]'s definition, of [`Moment::ServerPeak`].
pub const SERVER_PEAK: &str = "The server's peak: the first reading of pg_stat_activity that counted this run's most \
     backends (the run's peak server connections), with the app counted at the instant of that reading.";
/// [`first_refusal`]'s definition, of [`Moment::FirstRefusal`].
pub const FIRST_REFUSAL: &str = "The first refusal the app heard: the instant the first request the server refused \
     as too many clients failed (its start plus its time). The server's log counts a refusal as it makes it, a little \
     before its client hears it.";
/// [`busiest`]'s definition.
pub const BUSIEST: &str = "The busiest moment: the first instant the most connections were in use; in a run that \
     never held one, the first instant the most requests were in flight.";
/// [`opening`]'s definition of [`Moment::MostWaiting`].
pub const MOST_WAITING: &str = "The most waiting: the first instant the most requests were waiting for a connection; \
     in a run where none waited, its busiest moment.";
/// [`during_the_outage`]'s definition.
pub const DURING_THE_OUTAGE: &str = "During the outage: the first instant, from the one the outage began up to the \
     one it ended (as the run's network recorded them), when the most requests were waiting for a connection; the \
     outage's middle if none waited. In a run without an outage, the most waiting.";
/// [`mean_in_use`]'s definition.
pub const MEAN_IN_USE: &str = "Connections in use on average: the time requests held connections, added up, divided \
     by the load's duration (from the first arrival to the last answer). Little's law predicts this average, not a \
     peak.";
/// [`last_answer_ms`]'s definition.
pub const AFTER_THE_LAST_ANSWER: &str = "After the last request ended: the instant the run's last request was answered \
     (or failed). From then on no request is in flight, waiting or opening a connection; only leaked connections \
     are still in use.";

/// A stretch of a run's time, in milliseconds from its start: from `from` up to, not including,
/// `to` (`f64::INFINITY` for a connection never given back).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub from: f64,
    pub to: f64,
}

impl Span {
    /// Whether the instant `t` is in it: `from <= t < to`.
    pub fn contains(&self, t: f64) -> bool {
        self.from <= t && t < self.to
    }
}

/// One figure of the app side, counted over the run's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppFigure {
    /// See [`IN_FLIGHT`].
    InFlight,
    /// See [`WAITING`].
    Waiting,
    /// See [`CONNECTING`].
    Connecting,
    /// See [`HOLDING`].
    Holding,
}

/// The most a figure counted at any instant, and the first instant it did (none when it never
/// counted anything).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Peak {
    pub count: u64,
    pub at_ms: Option<f64>,
}

impl AppFigure {
    pub const ALL: [AppFigure; 4] =
        [AppFigure::InFlight, AppFigure::Waiting, AppFigure::Connecting, AppFigure::Holding];

    /// Its one definition, in the course's words.
    pub fn definition(self) -> &'static str {
        match self {
            AppFigure::InFlight => IN_FLIGHT,
            AppFigure::Waiting => WAITING,
            AppFigure::Connecting => CONNECTING,
            AppFigure::Holding => HOLDING,
        }
    }

    /// The stretch of request `r`'s time this figure counts, if any:
    ///
    /// - in flight: `[start, start + total)`;
    /// - waiting: `[asked, held_from)`, or `[asked, asked + acquire_wait)` when it never got a
    ///   connection (only pooled requests wait: a naive one's wait is 0, an empty span);
    /// - connecting: `[asked, held_from)`, or `[asked, asked + connect)` when it never got a
    ///   connection (only naive requests open their own);
    /// - holding: `[held_from, given_back)`, to infinity when it was never given back (leaked).
    ///
    /// `asked` is `asked_ms`, or the request's start in a record stored before requests noted it.
    /// A record stored before requests noted `held_from_ms` (it has no `asked_ms` either) held
    /// its connection, if it answered without the cache, from the end of its wait or connect for
    /// its query time.
    pub fn span(self, r: &RequestRecord) -> Option<Span> {
        let asked = r.asked_ms.unwrap_or(r.start_ms);
        // A wait or a connect ends at the very instant the connection was got, when it was (not
        // at `asked + wait`, a sum that may land a rounding error past it), else when it failed.
        let until = |took: f64| if took > 0.0 { r.held_from_ms.unwrap_or(asked + took) } else { asked };
        let span = match self {
            AppFigure::InFlight => Span { from: r.start_ms, to: r.start_ms + r.total_ms },
            AppFigure::Waiting => Span { from: asked, to: until(r.acquire_wait_ms) },
            AppFigure::Connecting => Span { from: asked, to: until(r.connect_ms) },
            AppFigure::Holding => match (r.held_from_ms, r.asked_ms) {
                (Some(from), _) => Span { from, to: r.given_back_ms.unwrap_or(f64::INFINITY) },
                (None, None) if r.outcome == "ok" && !r.cache_hit => {
                    let from = r.start_ms + r.acquire_wait_ms + r.connect_ms;
                    Span { from, to: from + r.query_ms }
                }
                (None, _) => return None,
            },
        };
        (span.from < span.to).then_some(span)
    }

    /// How many of `records` this figure counted at the instant `t`.
    pub fn at<'a>(self, records: impl IntoIterator<Item = &'a RequestRecord>, t: f64) -> u64 {
        records.into_iter().filter(|r| self.span(r).is_some_and(|s| s.contains(t))).count() as u64
    }

    /// The most of `records` this figure counted at any instant, and the first instant it did.
    ///
    /// A sweep over the spans' ends in time order; at one instant the spans that end there are
    /// taken out before those that begin there are put in (half-open spans), and the count after
    /// all of them is the count at that instant.
    pub fn peak<'a>(self, records: impl IntoIterator<Item = &'a RequestRecord>) -> Peak {
        peak_of(records.into_iter().filter_map(|r| self.span(r)))
    }
}

/// The most of `spans` that contain one instant, and the first such instant.
pub fn peak_of(spans: impl IntoIterator<Item = Span>) -> Peak {
    let (from, to): (Vec<f64>, Vec<f64>) = spans.into_iter().map(|s| (s.from, s.to)).unzip();
    sweep(from, to)
}

/// [`peak_of`] of the spans' starts and ends (apart from the generic gathering, so the page
/// carries the sweep once however many kinds of span it counts).
fn sweep(mut from: Vec<f64>, mut to: Vec<f64>) -> Peak {
    sort_numbers(&mut from);
    sort_numbers(&mut to);
    // Walk the instants in order; at each, the spans that end there leave before those that
    // start there join (spans are half-open), and the count is read once all have moved.
    let (mut started, mut ended, mut best) = (0usize, 0usize, Peak::default());
    while started < from.len() {
        let t = match to.get(ended) {
            Some(&end) if end < from[started] => end,
            _ => from[started],
        };
        while to.get(ended).is_some_and(|&end| end <= t) {
            ended += 1;
        }
        while from.get(started).is_some_and(|&start| start <= t) {
            started += 1;
        }
        let now = started.saturating_sub(ended) as u64;
        if now > best.count {
            best = Peak { count: now, at_ms: Some(t) };
        }
    }
    best
}

/// The most of `spans` that contain one instant of each window `[edges[i], edges[i + 1])`: one
/// count per window, so a chart of a figure's windows peaks exactly where [`peak_of`] says.
pub fn most_in(spans: impl IntoIterator<Item = Span>, edges: &[f64]) -> Vec<u64> {
    let (mut from, mut to): (Vec<f64>, Vec<f64>) = spans.into_iter().map(|s| (s.from, s.to)).unzip();
    sort_numbers(&mut from);
    sort_numbers(&mut to);
    let (mut started, mut ended) = (0usize, 0usize);
    // Moves every span that began, and every one that ended, at or before `t` (the count is then
    // the count at `t`).
    let reach = |t: f64, started: &mut usize, ended: &mut usize| {
        while from.get(*started).is_some_and(|&s| s <= t) {
            *started += 1;
        }
        while to.get(*ended).is_some_and(|&e| e <= t) {
            *ended += 1;
        }
        started.saturating_sub(*ended) as u64
    };
    edges
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let mut most = reach(a, &mut started, &mut ended);
            // Every instant inside the window where the count changes.
            loop {
                let next = match (from.get(started), to.get(ended)) {
                    (Some(&s), Some(&e)) => s.min(e),
                    (Some(&s), None) => s,
                    (None, Some(&e)) => e,
                    (None, None) => break,
                };
                if next >= b {
                    break;
                }
                most = most.max(reach(next, &mut started, &mut ended));
            }
            most
        })
        .collect()
}

/// What the app did in one window of a run, `[from_ms, to_ms)`, counted from its records: the most
/// of each figure at any instant of it, and the requests answered and failed in it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    pub from_ms: f64,
    pub to_ms: f64,
    /// The most of each figure at one instant of the window (`oldest_wait_ms` is 0).
    pub most: AppCounts,
    /// Requests answered in the window (their answer's instant in it).
    pub answered: u64,
    /// Requests that failed in the window.
    pub failed: u64,
}

/// The app's figures over the windows between consecutive `edges` (ascending milliseconds from
/// the run's start): what the page's charts draw once a run's records are read.
pub fn windows(records: &[RequestRecord], edges: &[f64]) -> Vec<Window> {
    let most = |figure: AppFigure| most_in(records.iter().filter_map(|r| figure.span(r)), edges);
    let (in_flight, waiting, connecting, holding) =
        (most(AppFigure::InFlight), most(AppFigure::Waiting), most(AppFigure::Connecting), most(AppFigure::Holding));
    edges
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let ended = |ok: bool| {
                records
                    .iter()
                    .filter(|r| (r.outcome == "ok") == ok)
                    .filter(|r| Span { from: w[0], to: w[1] }.contains(r.start_ms + r.total_ms))
                    .count() as u64
            };
            Window {
                from_ms: w[0],
                to_ms: w[1],
                most: AppCounts {
                    in_flight: in_flight[i],
                    waiting: waiting[i],
                    connecting: connecting[i],
                    holding: holding[i],
                    ..AppCounts::default()
                },
                answered: ended(true),
                failed: ended(false),
            }
        })
        .collect()
}

/// Edges of windows `width_ms` wide from the load's first request to past its last answer,
/// after one window from the run's start to that request, in which none was yet: a window's most
/// at once, drawn from its start, then rises where the load began. (Windows from the run's start
/// drew 8.2's waiting line from 10 ms, beside "the load took 326 ms, from 18 ms": its first
/// requests came at 18.) The last window holds the last answer (it may end after it).
pub fn edges_every(width_ms: f64, records: &[RequestRecord]) -> Vec<f64> {
    let first = records.iter().map(|r| r.start_ms).reduce(f64::min).unwrap_or(0.0).max(0.0);
    let last = last_answer_ms(records).unwrap_or(first).max(first);
    let n = ((last - first) / width_ms).floor() as usize + 1;
    (first > 0.0).then_some(0.0).into_iter().chain((0..=n).map(|i| first + i as f64 * width_ms)).collect()
}

/// Sorts numbers from the smallest (the lab's times are never NaN). In the page the browser's
/// own sort does it: it is in the page already, and Rust's would add several KB of wasm.
#[cfg(not(target_arch = "wasm32"))]
fn sort_numbers(v: &mut [f64]) {
    v.sort_unstable_by(f64::total_cmp);
}

#[cfg(target_arch = "wasm32")]
fn sort_numbers(v: &mut [f64]) {
    use wasm_bindgen::JsCast;
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        /// A `Float64Array`, for its `sort`: numbers in ascending order, in place.
        #[wasm_bindgen(extends = js_sys::Float64Array)]
        type Numbers;
        #[wasm_bindgen(method)]
        fn sort(this: &Numbers);
    }
    let sorted: Numbers = js_sys::Float64Array::from(&*v).unchecked_into();
    sorted.sort();
    sorted.copy_to(v);
}

/// A cache's hits and misses at `t`: the requests it had answered by then, and those it had sent
/// on to the database by then (a miss is sent on when it arrives and finds nothing, so it counts
/// while its query runs, as the summary's `cache_misses`, "sent on to the database", does).
fn cache_at<'a>(records: impl IntoIterator<Item = &'a RequestRecord>, t: f64) -> (u64, u64) {
    records.into_iter().fold((0, 0), |(hits, misses), r| match r.cache_hit {
        true if r.start_ms + r.total_ms <= t => (hits + 1, misses),
        false if r.start_ms <= t => (hits, misses + 1),
        _ => (hits, misses),
    })
}

/// Every app figure at one instant, counted from the records (see each figure's definition).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AppCounts {
    pub in_flight: u64,
    pub waiting: u64,
    pub connecting: u64,
    pub holding: u64,
    /// How long the request waiting longest had waited by then (0 when none waited).
    pub oldest_wait_ms: f64,
    /// Requests the cache had answered by then, and requests it had sent on to the database by
    /// then (see `cache_at`; meaningful only for a run with a cache).
    pub cache_hits: u64,
    pub cache_misses: u64,
}

impl AppCounts {
    /// The figures of `records` at the instant `t`.
    pub fn at<'a>(records: impl IntoIterator<Item = &'a RequestRecord> + Clone, t: f64) -> AppCounts {
        let oldest_wait_ms = records
            .clone()
            .into_iter()
            .filter_map(|r| AppFigure::Waiting.span(r))
            .filter(|s| s.contains(t))
            .map(|s| t - s.from)
            .fold(0.0, f64::max);
        let (cache_hits, cache_misses) = cache_at(records.clone(), t);
        AppCounts {
            in_flight: AppFigure::InFlight.at(records.clone(), t),
            waiting: AppFigure::Waiting.at(records.clone(), t),
            connecting: AppFigure::Connecting.at(records.clone(), t),
            holding: AppFigure::Holding.at(records.clone(), t),
            oldest_wait_ms,
            cache_hits,
            cache_misses,
        }
    }

    /// Requests in flight that neither wait, connect nor hold a connection: closing their own,
    /// at the cache, or answering (the picture names them so that its counts add up).
    pub fn answering(&self) -> u64 {
        self.in_flight.saturating_sub(self.waiting + self.connecting + self.holding)
    }

    /// The count of one figure.
    pub fn get(&self, figure: AppFigure) -> u64 {
        match figure {
            AppFigure::InFlight => self.in_flight,
            AppFigure::Waiting => self.waiting,
            AppFigure::Connecting => self.connecting,
            AppFigure::Holding => self.holding,
        }
    }
}

/// Every app figure's peak over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AppPeaks {
    pub in_flight: Peak,
    pub waiting: Peak,
    pub connecting: Peak,
    pub holding: Peak,
}

impl AppPeaks {
    pub fn of<'a>(records: impl IntoIterator<Item = &'a RequestRecord> + Clone) -> AppPeaks {
        AppPeaks {
            in_flight: AppFigure::InFlight.peak(records.clone()),
            waiting: AppFigure::Waiting.peak(records.clone()),
            connecting: AppFigure::Connecting.peak(records.clone()),
            holding: AppFigure::Holding.peak(records),
        }
    }

    pub fn get(&self, figure: AppFigure) -> Peak {
        match figure {
            AppFigure::InFlight => self.in_flight,
            AppFigure::Waiting => self.waiting,
            AppFigure::Connecting => self.connecting,
            AppFigure::Holding => self.holding,
        }
    }

    /// The busiest moment ([`BUSIEST`]): the figure it is named by, how many it counted and when;
    /// none for a run without a request.
    pub fn busiest(&self) -> Option<(AppFigure, u64, f64)> {
        [AppFigure::Holding, AppFigure::InFlight]
            .into_iter()
            .find_map(|f| self.get(f).at_ms.map(|at| (f, self.get(f).count, at)))
    }
}

/// The moment a picture opens on: which one it is (a run may lack the one a step asks for: it then
/// opens on the nearest it has, named as that one; see [`opening`]), the figure it is named by,
/// how many that counted, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Opening {
    pub moment: Moment,
    pub figure: AppFigure,
    pub count: u64,
    pub at_ms: f64,
}

impl Opening {
    fn of(moment: Moment, (figure, count, at_ms): (AppFigure, u64, f64)) -> Opening {
        Opening { moment, figure, count, at_ms }
    }
}

/// The moment of a run a picture opens on, from its `records` and `events`: the busiest
/// ([`BUSIEST`]); the most waiting ([`MOST_WAITING`]), which is the busiest in a run where none
/// waited; during the outage ([`DURING_THE_OUTAGE`]), which is the most waiting in a run without a
/// recorded outage. None for [`Moment::End`] (the picture opens after the last answer) or a run
/// without a request.
pub fn opening(records: &[RequestRecord], events: &[RunEvent], moment: Moment) -> Option<Opening> {
    let peaks = AppPeaks::of(records);
    let busiest = peaks.busiest().map(|b| Opening::of(Moment::Busiest, b));
    let most_waiting = || match peaks.waiting.at_ms {
        Some(at) => Some(Opening::of(Moment::MostWaiting, (AppFigure::Waiting, peaks.waiting.count, at))),
        None => busiest,
    };
    match moment {
        // The server's peak is found in its readings ([`server_peak`]); from the records alone, the
        // busiest moment.
        Moment::Busiest | Moment::ServerPeak => busiest,
        Moment::FirstRefusal => match first_refusal(records) {
            Some(at) => {
                let connecting = AppCounts::at(records, at).connecting;
                Some(Opening::of(Moment::FirstRefusal, (AppFigure::Connecting, connecting, at)))
            }
            None => busiest,
        },
        Moment::MostWaiting => most_waiting(),
        Moment::Outage => match outage_window(events, records) {
            Some(window) if !records.is_empty() => {
                let (count, at) = during_the_outage(records, window);
                Some(Opening::of(Moment::Outage, (AppFigure::Waiting, count, at)))
            }
            _ => most_waiting(),
        },
        Moment::End => None,
    }
}

/// [`seen_with_the_server`]'s definition.
pub const SEEN_WITH_THE_SERVER: &str = "Seen with the server: the busiest moment, the most waiting and the \
     moment during the outage are each counted from the app's records at an exact instant, while the server is \
     read now and then. When the server was read while the moment's figure still stood at its count (before the \
     last answer; for the outage, before it ended), the picture opens on the first such reading instead of the \
     figure's first instant, so the app and the server are counted at one instant.";

/// [`SEEN_WITH_THE_SERVER`]: `opening` moved to the first of the server's `readings` (the
/// instants they show the server at, in any order) at or after it at which the app's figure
/// still counts as many, and before the last answer of `records` (for an outage, before the end
/// of its window in `events`); `opening` itself when no reading did, or for a moment found in the
/// server's readings or at a refusal (those are an instant of their own).
pub fn seen_with_the_server(
    records: &[RequestRecord],
    events: &[RunEvent],
    opening: Opening,
    readings: impl Iterator<Item = f64>,
) -> Opening {
    let until = match opening.moment {
        Moment::Busiest | Moment::MostWaiting => last_answer_ms(records),
        Moment::Outage => outage_window(events, records).map(|w| w.to),
        Moment::ServerPeak | Moment::FirstRefusal | Moment::End => None,
    };
    let Some(until) = until else { return opening };
    let at = readings
        .filter(|r| (opening.at_ms..until).contains(r))
        .filter(|r| opening.figure.at(records, *r) == opening.count)
        .reduce(f64::min);
    Opening { at_ms: at.unwrap_or(opening.at_ms), ..opening }
}

/// [`FIRST_REFUSAL`]: when the first request the server refused as too many clients failed; none
/// in a run without one.
pub fn first_refusal(records: &[RequestRecord]) -> Option<f64> {
    records.iter().filter(|r| r.outcome == "too_many_clients").map(|r| r.start_ms + r.total_ms).reduce(f64::min)
}

/// [`SERVER_PEAK`]: of readings of the server, each as (the instant it shows, the run's backends
/// in it), in time order, the instant of the first that counted `peak` (the run's most, as the
/// summary has it). None when no kept reading did (a peak between two frames, after the first
/// readings) or the run had no backend.
pub fn server_peak(readings: impl Iterator<Item = (f64, u64)>, peak: u64) -> Option<f64> {
    readings.filter(|(_, b)| peak > 0 && *b == peak).map(|(at, _)| at).reduce(f64::min)
}

/// When the run's (first) outage was on, from its recorded `events`: from the instant it began up
/// to, not including, the instant it ended (the last answer of `records`, if no end was recorded).
/// None without a recorded beginning.
pub fn outage_window(events: &[RunEvent], records: &[RequestRecord]) -> Option<Span> {
    let from = events.iter().find(|e| e.kind == RunEventKind::OutageBegins)?.at_ms;
    let end = events.iter().find(|e| e.kind == RunEventKind::OutageEnds && e.at_ms >= from);
    let to = end.map(|e| e.at_ms).or_else(|| last_answer_ms(records)).unwrap_or(from).max(from);
    Some(Span { from, to })
}

/// [`DURING_THE_OUTAGE`]: the most requests waiting at one instant of `window`, and the first such
/// instant; none waiting, and the window's middle, if none waited in it.
pub fn during_the_outage(records: &[RequestRecord], window: Span) -> (u64, f64) {
    let inside = records.iter().filter_map(|r| AppFigure::Waiting.span(r)).filter_map(|s| {
        let s = Span { from: s.from.max(window.from), to: s.to.min(window.to) };
        (s.from < s.to).then_some(s)
    });
    match peak_of(inside) {
        Peak { count, at_ms: Some(at) } => (count, at),
        _ => (0, (window.from + window.to) / 2.0),
    }
}

/// Connections in use on average over the load ([`MEAN_IN_USE`]): every held stretch, clipped to
/// the load's span (a leaked connection counts to its end), summed, over that span; 0 for a run
/// without requests or of no length.
pub fn mean_in_use(records: &[RequestRecord]) -> f64 {
    let Some(from) = records.iter().map(|r| r.start_ms).reduce(f64::min) else {
        return 0.0;
    };
    let to = last_answer_ms(records).unwrap_or(from);
    if to <= from {
        return 0.0;
    }
    let busy: f64 = records
        .iter()
        .filter_map(|r| AppFigure::Holding.span(r))
        .map(|s| (s.to.min(to) - s.from.max(from)).max(0.0))
        .sum();
    busy / (to - from)
}

/// The busiest moment of `records` ([`BUSIEST`]).
pub fn busiest<'a>(records: impl IntoIterator<Item = &'a RequestRecord> + Clone) -> Option<(AppFigure, u64, f64)> {
    AppPeaks::of(records).busiest()
}

/// When the run's last request was answered (or failed) ([`AFTER_THE_LAST_ANSWER`]); none
/// without a request.
pub fn last_answer_ms<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> Option<f64> {
    records.into_iter().map(|r| r.start_ms + r.total_ms).reduce(f64::max)
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_first_refusal_is_when_the_first_refused_request_failed() {
        let record = |n: u64, start_ms: f64, total_ms: f64, outcome: &str| RequestRecord {
            n,
            instance: 0,
            start_ms,
            acquire_wait_ms: 0.0,
            connect_ms: total_ms,
            query_ms: 0.0,
            total_ms,
            outcome: outcome.into(),
            cache_hit: false,
            asked_ms: Some(start_ms),
            held_from_ms: None,
            given_back_ms: None,
        };
        // (records as (start, total, outcome), want)
        let table: [(&[(f64, f64, &str)], Option<f64>); 4] = [
            (&[(0.0, 300.0, "too_many_clients"), (5.0, 200.0, "too_many_clients"), (1.0, 50.0, "ok")], Some(205.0)),
            (&[(0.0, 30.0, "ok"), (2.0, 40.0, "connect_failed")], None),
            (&[(10.0, 5.0, "too_many_clients")], Some(15.0)),
            (&[], None),
        ];
        for (rows, want) in table {
            let records: Vec<RequestRecord> =
                rows.iter().enumerate().map(|(n, (s, t, o))| record(n as u64, *s, *t, o)).collect();
            assert_eq!(first_refusal(&records), want, "{rows:?}");
        }
    }

    #[test]
    fn the_servers_peak_is_the_first_reading_that_counted_it() {
        // (readings as (instant, backends), the peak, want)
        let table: [(&[(f64, u64)], u64, Option<f64>); 5] = [
            (&[(10.0, 3), (20.0, 8), (30.0, 8), (40.0, 5)], 8, Some(20.0)),
            // Kept readings, then frames' (later, but a frame may repeat an earlier instant).
            (&[(10.0, 3), (120.0, 9), (100.0, 9)], 9, Some(100.0)),
            // The peak was read between two kept readings: not found.
            (&[(10.0, 3), (20.0, 7)], 8, None),
            // A run that held no backend has no server peak.
            (&[(10.0, 0)], 0, None),
            (&[], 4, None),
        ];
        for (readings, peak, want) in table {
            assert_eq!(server_peak(readings.iter().copied(), peak), want, "{readings:?} peak {peak}");
        }
    }
    use super::*;

    /// A request that arrived at `start`, asked for a connection at `asked`, waited `wait`,
    /// connected for `connect`, held it from `held` to `back`, and was answered at `end`.
    fn req(start: f64, wait: f64, connect: f64, held: Option<(f64, Option<f64>)>, end: f64) -> RequestRecord {
        RequestRecord {
            n: 0,
            instance: 0,
            start_ms: start,
            acquire_wait_ms: wait,
            connect_ms: connect,
            query_ms: 1.0,
            total_ms: end - start,
            outcome: "ok".into(),
            cache_hit: false,
            asked_ms: Some(start),
            held_from_ms: held.map(|h| h.0),
            given_back_ms: held.and_then(|h| h.1),
        }
    }

    #[test]
    fn a_window_counts_the_most_at_any_instant_inside_it() {
        let s = |from, to| Span { from, to };
        // (spans, edges) -> the most in each window.
        let table: [(Vec<Span>, Vec<f64>, Vec<u64>); 5] = [
            // Two spans overlap only within 30..40: the window 0..100 sees 2, though at its edges 0.
            (vec![s(10.0, 40.0), s(30.0, 60.0)], vec![0.0, 100.0], vec![2]),
            // Split at 35: both windows see 2 (30..35 and 35..40).
            (vec![s(10.0, 40.0), s(30.0, 60.0)], vec![0.0, 35.0, 100.0], vec![2, 2]),
            // Half-open: one ending at 50 and one starting at 50 are never together.
            (vec![s(0.0, 50.0), s(50.0, 90.0)], vec![0.0, 100.0], vec![1]),
            // A span that ends at a window's start is not in it; one begun before it is.
            (vec![s(0.0, 100.0), s(20.0, 150.0)], vec![0.0, 100.0, 200.0], vec![2, 1]),
            // A leaked connection is counted in every window from its start on.
            (vec![s(5.0, f64::INFINITY)], vec![0.0, 10.0, 20.0, 30.0], vec![1, 1, 1]),
        ];
        for (spans, edges, want) in table {
            assert_eq!(most_in(spans.clone(), &edges), want, "{spans:?} {edges:?}");
        }
    }

    #[test]
    fn windows_peak_where_the_run_peaks_and_count_each_answer_once() {
        let mut records: Vec<RequestRecord> = (0..30)
            .map(|i| {
                req(
                    i as f64 * 7.0,
                    0.0,
                    3.0,
                    Some((i as f64 * 7.0 + 3.0, Some(i as f64 * 7.0 + 40.0))),
                    i as f64 * 7.0 + 41.0,
                )
            })
            .collect();
        records[4].outcome = "connect_failed".into();
        let edges = edges_every(100.0, &records);
        assert_eq!(edges.first(), Some(&0.0));
        assert!(*edges.last().unwrap_or(&0.0) > last_answer_ms(&records).unwrap_or(0.0));
        let w = windows(&records, &edges);
        let peaks = AppPeaks::of(&records);
        for figure in AppFigure::ALL {
            let most = w.iter().map(|w| w.most.get(figure)).max().unwrap_or(0);
            assert_eq!(most, peaks.get(figure).count, "{figure:?}");
        }
        assert_eq!(w.iter().map(|w| w.answered).sum::<u64>(), 29);
        assert_eq!(w.iter().map(|w| w.failed).sum::<u64>(), 1);
    }

    #[test]
    fn windows_begin_where_the_load_does() {
        // Three requests from 18 ms, each waiting until 25, the last answered at 41: a window
        // before them, then 10 ms windows from 18. None waits before 18, all three in the window
        // from 18.
        let records: Vec<RequestRecord> =
            (0..3).map(|i| req(18.0 + i as f64, 7.0, 0.0, Some((25.0, Some(40.0))), 41.0)).collect();
        let edges = edges_every(10.0, &records);
        assert_eq!(edges, vec![0.0, 18.0, 28.0, 38.0, 48.0]);
        let w = windows(&records, &edges);
        let waiting: Vec<u64> = w.iter().map(|w| w.most.waiting).collect();
        assert_eq!(waiting[0], 0, "{waiting:?}");
        assert_eq!(waiting[1], 3, "{waiting:?}");
        // A load from the run's start has no window before it.
        let from_zero: Vec<RequestRecord> = (0..3).map(|i| req(i as f64, 0.0, 5.0, None, 9.0)).collect();
        assert_eq!(edges_every(10.0, &from_zero), vec![0.0, 10.0]);
    }

    #[test]
    fn spans_are_half_open() {
        let s = Span { from: 10.0, to: 20.0 };
        let table = [(9.999, false), (10.0, true), (15.0, true), (19.999, true), (20.0, false), (25.0, false)];
        for (t, inside) in table {
            assert_eq!(s.contains(t), inside, "{t}");
        }
    }

    #[test]
    fn each_figure_counts_its_own_part_of_a_request() {
        // Pooled: arrived at 0, waited 5 ms, held 5..12, answered at 13.
        let pooled = req(0.0, 5.0, 0.0, Some((5.0, Some(12.0))), 13.0);
        // Naive: arrived at 2, connected 2..8, held 8..14 (closing included), answered at 14.
        let naive = req(2.0, 0.0, 6.0, Some((8.0, Some(14.0))), 14.0);
        let both = [pooled.clone(), naive.clone()];
        // (t, in flight, waiting, connecting, holding)
        let table = [
            (0.0, 1, 1, 0, 0),
            (2.0, 2, 1, 1, 0),
            (5.0, 2, 0, 1, 1),
            (8.0, 2, 0, 0, 2),
            (12.0, 2, 0, 0, 1),
            (13.0, 1, 0, 0, 1),
            (14.0, 0, 0, 0, 0),
            (100.0, 0, 0, 0, 0),
        ];
        for (t, in_flight, waiting, connecting, holding) in table {
            let c = AppCounts::at(&both, t);
            assert_eq!(
                (c.in_flight, c.waiting, c.connecting, c.holding),
                (in_flight, waiting, connecting, holding),
                "at {t} ms"
            );
        }
        let p = AppPeaks::of(&both);
        assert_eq!(p.in_flight, Peak { count: 2, at_ms: Some(2.0) });
        assert_eq!(p.waiting, Peak { count: 1, at_ms: Some(0.0) });
        assert_eq!(p.connecting, Peak { count: 1, at_ms: Some(2.0) });
        assert_eq!(p.holding, Peak { count: 2, at_ms: Some(8.0) });
        assert_eq!(p.busiest(), Some((AppFigure::Holding, 2, 8.0)));
        assert_eq!(last_answer_ms(&both), Some(14.0));
        assert_eq!(AppCounts::at(&both, 3.0).oldest_wait_ms, 3.0);
    }

    #[test]
    fn peaks_at_boundaries_and_ties() {
        let s = |from: f64, to: f64| Span { from, to };
        // (spans, peak count, first instant)
        let table: Vec<(Vec<Span>, u64, Option<f64>)> = vec![
            (vec![], 0, None),
            // An empty span is never counted.
            (vec![s(5.0, 5.0)], 0, None),
            (vec![s(0.0, 10.0)], 1, Some(0.0)),
            // One ends where the next begins: never two at once.
            (vec![s(0.0, 10.0), s(10.0, 20.0)], 1, Some(0.0)),
            // Overlapping by a hair: two at the instant the second begins.
            (vec![s(0.0, 10.0), s(9.999, 20.0)], 2, Some(9.999)),
            // Both begin at once: two from that very instant.
            (vec![s(3.0, 4.0), s(3.0, 8.0)], 2, Some(3.0)),
            // The same peak twice: the first instant it was reached.
            (vec![s(0.0, 2.0), s(1.0, 3.0), s(5.0, 7.0), s(6.0, 8.0)], 2, Some(1.0)),
            // A later, higher peak wins.
            (vec![s(0.0, 2.0), s(1.0, 3.0), s(5.0, 9.0), s(6.0, 9.0), s(7.0, 8.0)], 3, Some(7.0)),
            // Never given back: held to the end and beyond.
            (vec![s(1.0, f64::INFINITY), s(2.0, 3.0)], 2, Some(2.0)),
            // Three end where three others begin: three, not six.
            (vec![s(0.0, 5.0), s(0.0, 5.0), s(0.0, 5.0), s(5.0, 6.0), s(5.0, 6.0), s(5.0, 6.0)], 3, Some(0.0)),
        ];
        for (spans, count, at_ms) in table {
            assert_eq!(peak_of(spans.clone()), Peak { count, at_ms }, "{spans:?}");
        }
    }

    /// The sweep agrees with counting at every instant a span begins (where every peak is).
    #[test]
    fn the_peak_is_the_most_counted_at_any_instant() {
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..200 {
            let records: Vec<RequestRecord> = (0..next(30))
                .map(|_| {
                    let start = next(50) as f64;
                    let wait = next(4) as f64;
                    let held = start + wait;
                    let back = held + next(5) as f64;
                    let leaked = next(10) == 0;
                    req(start, wait, 0.0, Some((held, (!leaked).then_some(back))), back + next(3) as f64)
                })
                .collect();
            for figure in AppFigure::ALL {
                let peak = figure.peak(&records);
                let starts: Vec<f64> = records.iter().filter_map(|r| figure.span(r)).map(|s| s.from).collect();
                let most = starts.iter().map(|&t| figure.at(&records, t)).max().unwrap_or(0);
                assert_eq!(peak.count, most, "{figure:?}");
                if let Some(at) = peak.at_ms {
                    assert_eq!(figure.at(&records, at), peak.count);
                    let first = starts.iter().copied().filter(|&t| figure.at(&records, t) == most).fold(at, f64::min);
                    assert_eq!(at, first, "{figure:?}: the first instant of the peak");
                }
            }
        }
    }

    /// `asked + wait` may land a rounding error past `held_from`: the wait still ends exactly
    /// when the connection was got, so no request is both waiting and holding.
    #[test]
    fn a_wait_ends_at_the_instant_the_connection_was_got() {
        let (asked, held) = (0.1, 0.30000000000000004);
        let mut r = req(0.0, 0.2, 0.0, Some((held, Some(1.0))), 2.0);
        r.asked_ms = Some(asked);
        assert!(asked + r.acquire_wait_ms > held - 1e-12);
        let c = AppCounts::at([&r], held);
        assert_eq!((c.waiting, c.holding), (0, 1));
        assert_eq!(AppFigure::Waiting.span(&r), Some(Span { from: asked, to: held }));
        // A naive request's connect, likewise; and it waited for no pool.
        let naive = req(0.0, 0.0, 0.2, Some((held, Some(1.0))), 2.0);
        assert_eq!(AppFigure::Connecting.span(&naive), Some(Span { from: 0.0, to: held }));
        assert_eq!(AppFigure::Waiting.span(&naive), None);
    }

    #[test]
    fn a_picture_opens_on_the_moment_its_step_asks_for() {
        // Two requests wait 0..4 and 1..4 (two waiting from 1), then hold 4..9 and 4..6.
        let waited =
            [req(0.0, 4.0, 0.0, Some((4.0, Some(9.0))), 10.0), req(1.0, 3.0, 0.0, Some((4.0, Some(6.0))), 7.0)];
        // Nobody waits: one holds 0..5, then two hold 6..8 and 7..8.
        let none_waited = [
            req(0.0, 0.0, 0.0, Some((0.0, Some(5.0))), 5.0),
            req(6.0, 0.0, 0.0, Some((6.0, Some(8.0))), 8.0),
            req(7.0, 0.0, 0.0, Some((7.0, Some(8.0))), 8.0),
        ];
        // Requests wait 8..11, 12..15 and 13..15 (two at once from 13), and after the outage three
        // wait 25..30 as the pool reconnects: the most waiting of the run comes after it.
        let mut outage_run = vec![
            req(8.0, 3.0, 0.0, Some((11.0, Some(12.0))), 12.0),
            req(12.0, 3.0, 0.0, Some((15.0, Some(16.0))), 17.0),
            req(13.0, 2.0, 0.0, Some((15.0, Some(16.0))), 17.0),
        ];
        outage_run.extend((0..3).map(|_| req(25.0, 5.0, 0.0, Some((30.0, Some(31.0))), 32.0)));
        let at = |at_ms, kind| RunEvent { at_ms, kind };
        let outage = |from, to| vec![at(from, RunEventKind::OutageBegins), at(to, RunEventKind::OutageEnds)];
        let open = |moment, figure, count, at_ms| Some(Opening { moment, figure, count, at_ms });
        use AppFigure::{Holding, Waiting};
        use Moment::{Busiest, End, MostWaiting, Outage};
        // (records, events, the moment asked for) -> the moment opened on.
        let table: Vec<(&[RequestRecord], Vec<RunEvent>, Moment, Option<Opening>)> = vec![
            (&waited, vec![], Busiest, open(Busiest, Holding, 2, 4.0)),
            (&waited, vec![], MostWaiting, open(MostWaiting, Waiting, 2, 1.0)),
            (&waited, vec![], End, None),
            (&none_waited, vec![], MostWaiting, open(Busiest, Holding, 2, 7.0)),
            (&none_waited, vec![], Busiest, open(Busiest, Holding, 2, 7.0)),
            (&[], vec![], MostWaiting, None),
            (&[], outage(1.0, 2.0), Outage, None),
            // During the outage 10..20: two waiting at 13, though three waited at 25.
            (&outage_run, outage(10.0, 20.0), Outage, open(Outage, Waiting, 2, 13.0)),
            (&outage_run, outage(10.0, 20.0), MostWaiting, open(MostWaiting, Waiting, 3, 25.0)),
            // A wait begun before the outage counts from the instant it began.
            (&outage_run, outage(10.0, 12.0), Outage, open(Outage, Waiting, 1, 10.0)),
            // The outage's end is not in the window (half-open): at 15 the two waits are over.
            (&outage_run, outage(15.0, 25.0), Outage, open(Outage, Waiting, 0, 20.0)),
            // None waited during it: its middle.
            (&outage_run, outage(20.0, 24.0), Outage, open(Outage, Waiting, 0, 22.0)),
            (&none_waited, outage(1.0, 5.0), Outage, open(Outage, Waiting, 0, 3.0)),
            // No end recorded: the outage lasts to the last answer (32).
            (&outage_run, vec![at(16.0, RunEventKind::OutageBegins)], Outage, open(Outage, Waiting, 3, 25.0)),
            // No outage recorded (a run stored before they were): the most waiting, so named.
            (&outage_run, vec![], Outage, open(MostWaiting, Waiting, 3, 25.0)),
            (&none_waited, vec![at(2.0, RunEventKind::BreakerOpens)], Outage, open(Busiest, Holding, 2, 7.0)),
        ];
        for (records, events, moment, want) in table {
            assert_eq!(opening(records, &events, moment), want, "{moment:?} of {} requests, {events:?}", records.len());
        }
    }

    #[test]
    fn a_moment_counted_from_the_app_opens_where_the_server_was_read_too() {
        // Two hold 4..6, one 4..9 (the busiest: two from 4 up to 6); the last answer at 10.
        let records =
            [req(0.0, 4.0, 0.0, Some((4.0, Some(9.0))), 10.0), req(1.0, 3.0, 0.0, Some((4.0, Some(6.0))), 7.0)];
        let busiest = Opening { moment: Moment::Busiest, figure: AppFigure::Holding, count: 2, at_ms: 4.0 };
        let outage = Opening { moment: Moment::Outage, figure: AppFigure::Holding, count: 2, at_ms: 4.0 };
        let refusal = Opening { moment: Moment::FirstRefusal, ..busiest };
        let events = [
            RunEvent { at_ms: 0.0, kind: RunEventKind::OutageBegins },
            RunEvent { at_ms: 5.0, kind: RunEventKind::OutageEnds },
        ];
        // (the opening, readings) -> where it opens
        let table: Vec<(Opening, Vec<f64>, f64)> = vec![
            // The first reading while two were held, whatever the readings' order.
            (busiest, vec![9.5, 5.5, 4.5, 3.0], 4.5),
            // None read while they were (at 6 one was given back): the first instant stands.
            (busiest, vec![3.0, 6.0, 7.0], 4.0),
            (busiest, vec![], 4.0),
            // The outage's reading must fall before it ended (at 5).
            (outage, vec![5.5], 4.0),
            (outage, vec![4.9, 5.5], 4.9),
            // A refusal is an instant of its own.
            (refusal, vec![4.5], 4.0),
        ];
        for (opening, readings, want) in table {
            let got = seen_with_the_server(&records, &events, opening, readings.iter().copied());
            assert_eq!(got, Opening { at_ms: want, ..opening }, "{opening:?} read at {readings:?}");
        }
    }

    #[test]
    fn the_average_in_use_is_the_busy_time_over_the_loads_duration() {
        // (records, average): the load runs from the first arrival to the last answer.
        let table: [(Vec<RequestRecord>, f64); 4] = [
            (vec![], 0.0),
            // One connection held 2..8 of a load of 0..10: 0.6.
            (vec![req(0.0, 2.0, 0.0, Some((2.0, Some(8.0))), 10.0)], 0.6),
            // Two held 0..10 and 5..10 over 0..10: 1.5 on average, though the peak is 2.
            (
                vec![
                    req(0.0, 0.0, 0.0, Some((0.0, Some(10.0))), 10.0),
                    req(5.0, 0.0, 0.0, Some((5.0, Some(10.0))), 10.0),
                ],
                1.5,
            ),
            // A leaked connection counts to the load's end, not to infinity: 4..10 and 0..2 over 0..10.
            (vec![req(4.0, 0.0, 0.0, Some((4.0, None)), 5.0), req(0.0, 0.0, 0.0, Some((0.0, Some(2.0))), 10.0)], 0.8),
        ];
        for (records, want) in table {
            assert!((mean_in_use(&records) - want).abs() < 1e-9, "{records:?}: {}", mean_in_use(&records));
        }
    }

    #[test]
    fn a_cache_counts_a_hit_once_answered_and_a_miss_once_sent_on() {
        // Two misses sent on at 0 and 1 (their queries answer at 10 and 12); a hit that waited for
        // the first load and was answered with it at 10; a hit answered at once at 20.
        let miss = |start, end| req(start, 0.0, 0.0, Some((start, Some(end))), end);
        let hit = |start, end| RequestRecord { cache_hit: true, ..req(start, 0.0, 0.0, None, end) };
        let records = [miss(0.0, 10.0), miss(1.0, 12.0), hit(0.5, 10.0), hit(20.0, 20.1)];
        let at = |t| {
            let c = AppCounts::at(&records, t);
            (c.cache_hits, c.cache_misses)
        };
        let cases = [(0.0, (0, 1)), (5.0, (0, 2)), (10.0, (1, 2)), (30.0, (2, 2))];
        for (t, want) in cases {
            assert_eq!(at(t), want, "at {t} ms (hits, misses)");
        }
    }

    #[test]
    fn after_the_last_answer_nothing_is_in_flight() {
        let records = [req(0.0, 2.0, 0.0, Some((2.0, Some(9.0))), 10.0), req(1.0, 0.0, 3.0, Some((4.0, None)), 31.5)];
        let end = last_answer_ms(&records).unwrap();
        assert_eq!(end, 31.5);
        let c = AppCounts::at(&records, end);
        // The leaked connection is still in use; nothing else goes on.
        assert_eq!((c.in_flight, c.waiting, c.connecting, c.holding), (0, 0, 0, 1));
    }

    #[test]
    fn a_record_without_instants_reads_as_records_were_stored_before() {
        let mut old = req(10.0, 3.0, 0.0, None, 20.0);
        old.asked_ms = None;
        old.query_ms = 4.0;
        assert_eq!(AppFigure::Waiting.span(&old), Some(Span { from: 10.0, to: 13.0 }));
        assert_eq!(AppFigure::Holding.span(&old), Some(Span { from: 13.0, to: 17.0 }));
        // A cache hit, or a request that never got a connection, holds none.
        let hit = RequestRecord { cache_hit: true, ..old.clone() };
        assert_eq!(AppFigure::Holding.span(&hit), None);
        let refused = RequestRecord { outcome: "circuit_open".into(), ..old };
        assert_eq!(AppFigure::Holding.span(&refused), None);
        // A new record that asked and never got one holds none either.
        let timed_out = RequestRecord { outcome: "acquire_timeout".into(), ..req(0.0, 50.0, 0.0, None, 50.0) };
        assert_eq!(AppFigure::Holding.span(&timed_out), None);
        assert_eq!(AppFigure::Waiting.span(&timed_out), Some(Span { from: 0.0, to: 50.0 }));
    }
}
