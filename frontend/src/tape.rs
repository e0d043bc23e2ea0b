//! One run as a view shows it: its frames, its requests, and where the scrubber is.
//!
//! While the run goes, its frames are the live ones; once it is over (or when an old run is
//! opened) they are the ones the lab stored, read back with every request's record. The picture,
//! the charts and the tiles all read the same [`Tape`], so what they draw is the same frame, and
//! after a run they keep showing it (its busiest moment or its end, wherever the scrubber is)
//! until the next.

use leptos::prelude::*;
use poollab_shared::activity::{self, AppPeaks, Opening};
use poollab_shared::frame;
use poollab_shared::{
    Dec, Frame, Moment, PoolFrame, PoolerFrame, RequestRecord, RunEvent, RunState, RunView, ServerFacts, ServerFrame,
    Timeline,
};

use crate::live::Live;
use crate::picture::AppSide;

#[derive(Clone, Copy)]
pub struct Tape {
    /// The run shown, as the live feed last described it (or as it was stored).
    pub run: Memo<Option<RunView>>,
    /// The run's stored timeline, once read.
    stored: RwSignal<Option<(RunView, Timeline)>>,
    live: Live,
    /// The frame the scrubber is on; none follows the newest.
    pub cursor: RwSignal<Option<usize>>,
    /// Once the run is over: the instant the app side is shown at, when it is not the frame's own
    /// (the busiest moment falls between two frames).
    pub instant: RwSignal<Option<f64>>,
    /// The app's peaks, counted from the stored records once they are read.
    app_peaks: Memo<Option<AppPeaks>>,
    /// The moment a run that is over opens on (its busiest, unless a step asks for another).
    pub moment: RwSignal<Moment>,
    pub error: RwSignal<Option<String>>,
}

/// Where the picture is in a run that is over, and why it is there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// The moment the run opens on (the busiest, the most waiting, during the outage): the
    /// figure it is named by, how many, when.
    Opening(Opening),
    /// A frame the scrubber was put on, at its own instant.
    Frame(f64),
    /// After the last answer (the run's end, or the last frame, is later: `frame_ms`).
    AfterTheLastAnswer { answer_ms: f64, frame_ms: f64 },
}

impl Shown {
    /// The instant the app side is counted at.
    pub fn at_ms(self) -> f64 {
        match self {
            Shown::Opening(Opening { at_ms: at, .. }) | Shown::Frame(at) => at,
            Shown::AfterTheLastAnswer { answer_ms, frame_ms } => answer_ms.max(frame_ms),
        }
    }

    /// Its name, for `data-moment`.
    pub fn name(self) -> &'static str {
        match self {
            Shown::Opening(o) => match o.moment {
                Moment::MostWaiting => "most-waiting",
                Moment::Outage => "outage",
                Moment::ServerPeak => "server-peak",
                Moment::FirstRefusal => "first-refusal",
                Moment::Busiest | Moment::End => "busiest",
            },
            Shown::Frame(_) => "frame",
            Shown::AfterTheLastAnswer { .. } => "after-last-answer",
        }
    }
}

/// A time in a run, as people say it: `331 ms`, `4.5 ms`, `2.3 s`.
/// A time as [`ms_text`] prints it, in ms (rounded half to even, as it prints).
pub fn shown_ms(ms: f64) -> f64 {
    if ms >= 1000.0 {
        (ms / 100.0).round_ties_even() * 100.0
    } else if ms >= 10.0 {
        ms.round_ties_even()
    } else {
        (ms * 10.0).round_ties_even() / 10.0
    }
}

pub fn ms_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", Dec(ms / 1000.0))
    } else if ms >= 10.0 || ms == 0.0 {
        format!("{:.0} ms", Dec(ms))
    } else {
        format!("{:.1} ms", Dec(ms))
    }
}

/// The frame whose reading of the server (and of its pooler) goes with the instant `at_ms` of a
/// run whose load ran over `load` (its first request's start to its last answer): the reading
/// taken nearest that instant (a reading shows the server somewhere between when it was asked for
/// and when it came), among those taken while the load ran when the instant is in it (not the
/// server, or the pooler, still opening a warm pool; not the server after the run), else among all.
pub fn reading_for(frames: &[Frame], at_ms: f64, load: std::ops::RangeInclusive<f64>) -> Option<usize> {
    nearest_reading(frames.iter().map(|f| read_at(&f.server, f.elapsed_ms as f64)), at_ms, load)
}

/// When a reading of the server shows it: midway between when it was asked for and when it
/// came (`otherwise`, a frame's own instant, for a reading that says neither).
pub fn read_at(s: &ServerFrame, otherwise: f64) -> f64 {
    s.shows_at().unwrap_or(otherwise)
}

/// Of readings taken at `read_at`, the one that goes with the instant `at_ms`, by the rule of
/// [`reading_for`].
fn nearest_reading(
    read_at: impl Iterator<Item = f64> + Clone,
    at_ms: f64,
    load: std::ops::RangeInclusive<f64>,
) -> Option<usize> {
    let by_distance = |(_, a): &(usize, f64), (_, b): &(usize, f64)| (a - at_ms).abs().total_cmp(&(b - at_ms).abs());
    let (first, last) = (*load.start(), *load.end());
    let during =
        read_at.clone().enumerate().filter(|(_, r)| at_ms > last || (*r <= last && (at_ms < first || *r >= first)));
    during.min_by(by_distance).or_else(|| read_at.enumerate().min_by(by_distance)).map(|(i, _)| i)
}

/// The reading of the server that goes with the instant `at_ms` among a run's first readings
/// (`Timeline::readings`, every 10 ms), by the rule of [`reading_for`]; none past the last of
/// them (a frame's reading is as near there) or without them.
pub fn fine_reading_for(readings: &[ServerFrame], at_ms: f64, load: std::ops::RangeInclusive<f64>) -> Option<usize> {
    let last = read_at(readings.last()?, 0.0);
    (at_ms <= last).then(|| nearest_reading(readings.iter().map(|s| read_at(s, 0.0)), at_ms, load)).flatten()
}

/// Where a run that is over is shown: at `instant` if one was chosen (the moment it opens on), else
/// at the frame the scrubber is on (`frame_ms`), or after the last answer when that frame came
/// after it or the scrubber follows the end (`following`).
pub fn shown(
    instant: Option<f64>,
    following: bool,
    opening: Option<Opening>,
    frame_ms: f64,
    last_answer: f64,
) -> Shown {
    match (instant, opening) {
        (Some(at), Some(o)) if at == o.at_ms => Shown::Opening(o),
        (Some(at), _) if at < last_answer => Shown::Frame(at),
        (None, _) if !following && frame_ms < last_answer => Shown::Frame(frame_ms),
        (at, _) => Shown::AfterTheLastAnswer { answer_ms: last_answer, frame_ms: at.unwrap_or(frame_ms) },
    }
}

/// The most each figure reached over the frames of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Peaks {
    pub server: u64,
    pub in_use: u64,
    pub connecting: u64,
    pub waiters: u64,
    pub holding: u64,
}

impl Peaks {
    pub fn of(frames: &[Frame]) -> Peaks {
        frames.iter().fold(Peaks::default(), |p, f| {
            let pool = f.pool.unwrap_or_default();
            Peaks {
                server: p.server.max(f.server.run_backends_peak).max(f.server.run_backends),
                in_use: p.in_use.max(pool.in_use),
                connecting: p.connecting.max(f.app.connecting),
                waiters: p.waiters.max(pool.waiters),
                holding: p.holding.max(f.app.holding),
            }
        })
    }
}

/// Whether the run shown changed: what of a run changes as it goes (its place in line, its state,
/// its worker, learners and error; its summary comes once, when it is done). Its id and spec are
/// fixed, and its timeline is kept apart, so comparing every field (the derived `PartialEq`)
/// would only add code to the page.
fn run_changed(a: Option<&Option<RunView>>, b: Option<&Option<RunView>>) -> bool {
    fn key(r: &RunView) -> (&str, RunState, Option<u32>, Option<&str>, u32, Option<&str>, bool) {
        (&r.id, r.state, r.position, r.worker.as_deref(), r.learners, r.error.as_deref(), r.summary.is_some())
    }
    match (a, b) {
        (Some(a), Some(b)) => a.as_ref().map(key) != b.as_ref().map(key),
        _ => true,
    }
}

impl Tape {
    /// The tape of the run `run_id` names.
    pub fn new(run_id: Signal<Option<String>>, live: Live) -> Tape {
        let stored = RwSignal::new(None::<(RunView, Timeline)>);
        let cursor = RwSignal::new(None::<usize>);
        let instant = RwSignal::new(None::<f64>);
        let error = RwSignal::new(None::<String>);
        let run = Memo::new_with_compare(
            move |_| {
                let id = run_id.get()?;
                live.runs
                    .with(|runs| runs.iter().find(|r| r.id == id).cloned())
                    .or_else(|| stored.with(|s| s.as_ref().filter(|(r, _)| r.id == id).map(|(r, _)| r.clone())))
            },
            run_changed,
        );
        // A run that is over (or that the live feed does not know) is read back from the store,
        // once: its frames and every request's record.
        Effect::new(move |_| {
            let Some(id) = run_id.get() else { return };
            let over = run.with(|r| r.as_ref().is_none_or(is_over));
            // Read again only if what was read of this run was a snapshot taken while it went.
            if !over || stored.with_untracked(|s| s.as_ref().is_some_and(|(r, _)| r.id == id && is_over(r))) {
                return;
            }
            leptos::task::spawn_local(async move {
                match crate::api::timeline(&id).await {
                    Ok(mut view) => {
                        let timeline = view.timeline.take().unwrap_or_default();
                        stored.set(Some((view, timeline)));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        });
        // Another run: the scrubber follows the newest frame again.
        Effect::new(move |previous: Option<Option<String>>| {
            let id = run_id.get();
            if previous.is_some_and(|p| p != id) {
                cursor.set(None);
                instant.set(None);
            }
            id
        });
        let app_peaks = Memo::new(move |_| {
            let id = run.with(|r| r.as_ref().map(|r| r.id.clone()))?;
            stored.with(|s| {
                s.as_ref().filter(|(r, _)| r.id == id && is_over(r)).map(|(_, t)| AppPeaks::of(&t.requests[..]))
            })
        });
        Tape { run, stored, live, cursor, instant, app_peaks, moment: RwSignal::new(Moment::Busiest), error }
    }

    fn id(&self) -> Option<String> {
        self.run.with(|r| r.as_ref().map(|r| r.id.clone()))
    }

    /// Runs `f` on the run's frames: the stored ones once read, the live ones before.
    pub fn with_frames<R>(&self, f: impl FnOnce(&[Frame]) -> R) -> R {
        let id = self.id();
        // The store's frames once the run is over there; before that, the live feed's.
        let stored = self.stored.with(|s| s.as_ref().is_some_and(|(r, _)| Some(&r.id) == id.as_ref() && is_over(r)));
        if stored {
            return self.stored.with(|s| f(s.as_ref().map_or(&[][..], |(_, t)| &t.frames)));
        }
        if id.is_some() && self.live.watching.with(|w| *w == id) {
            return self.live.frames.with(|frames| f(frames));
        }
        f(&[])
    }

    /// Puts the picture on the run's [`Tape::moment`] (its busiest, [`activity::BUSIEST`], the
    /// most waiting, [`activity::MOST_WAITING`], or during the outage,
    /// [`activity::DURING_THE_OUTAGE`]), counted from its records and events, and the scrubber on
    /// the frame nearest it (for the server's side). A run without a request stays at its end.
    pub fn go_to_busiest(&self) {
        if let Some(o) = self.opening() {
            self.go_to(o.at_ms);
        }
    }

    /// Puts the picture at the instant `at_ms` of a run whose records are read, and the scrubber
    /// on the frame nearest it (whose readings the server's side shows).
    pub fn go_to(&self, at_ms: f64) {
        let (first, last) = self.load_span();
        let nearest = self.with_frames(|frames| reading_for(frames, at_ms, first..=last));
        self.cursor.set(nearest.filter(|i| i + 1 < self.len()));
        self.instant.set(Some(at_ms));
    }

    /// Where the picture is, once the run is over and its records are read.
    pub fn shown(&self) -> Option<Shown> {
        if !self.records_read() {
            return None;
        }
        let frame_ms = self.frame().map_or(0.0, |f| f.elapsed_ms as f64);
        let last = self.with_requests(|r| activity::last_answer_ms(r)).unwrap_or(0.0);
        let following = self.cursor.get().is_none();
        Some(shown(self.instant.get(), following, self.opening(), frame_ms, last))
    }

    /// Where the run's [`Tape::moment`] is, counted from its records and events once read.
    fn opening(&self) -> Option<Opening> {
        let moment = self.moment.get();
        if moment == Moment::ServerPeak
            && let Some(o) = self.server_peak()
        {
            return Some(o);
        }
        // Moved to where the server was read too, when it was read while the figure stood
        // ([`activity::SEEN_WITH_THE_SERVER`]).
        let readings: Vec<f64> = self.with_server_readings(|all| all.iter().map(|(at, _)| *at).collect());
        self.with_requests(|r| {
            self.with_events(|e| {
                let opening = activity::opening(r, e, moment)?;
                Some(activity::seen_with_the_server(r, e, opening, readings.into_iter()))
            })
        })
    }

    /// The server's peak ([`activity::SERVER_PEAK`]): the first of the run's readings of the
    /// server ([`frame::server_readings`]) that counted the summary's peak of the run's backends.
    fn server_peak(&self) -> Option<Opening> {
        let peak = self.run.with(|r| Some(r.as_ref()?.summary.as_ref()?.peak_server_connections))?;
        let at = self
            .with_server_readings(|all| activity::server_peak(all.iter().map(|(at, r)| (*at, r.run_backends)), peak))?;
        Some(Opening { moment: Moment::ServerPeak, figure: activity::AppFigure::Holding, count: peak, at_ms: at })
    }

    /// Runs `f` on the run's readings of the server in time order ([`frame::server_readings`]):
    /// its first readings once it is over and read back, then its frames'.
    fn with_server_readings<R>(&self, f: impl FnOnce(&[(f64, &ServerFrame)]) -> R) -> R {
        self.with_readings(|first| self.with_frames(|frames| f(&frame::server_readings(first, frames))))
    }

    /// Runs `f` on PgBouncer's readings of the run's first moments (`Timeline::pooler_readings`):
    /// none until it is over and read back, or when it kept none.
    pub fn with_poolers<R>(&self, f: impl FnOnce(&[PoolerFrame]) -> R) -> R {
        self.with_stored(|t| f(t.map_or(&[][..], |t| &t.pooler_readings)))
    }

    /// Runs `f` on the run's first readings of the server (`Timeline::readings`): none until it is
    /// over and read back, or when it kept none.
    pub fn with_readings<R>(&self, f: impl FnOnce(&[ServerFrame]) -> R) -> R {
        self.with_stored(|t| f(t.map_or(&[][..], |t| &t.readings)))
    }

    /// Runs `f` on the run's stored timeline, once it is over and read back.
    fn with_stored<R>(&self, f: impl FnOnce(Option<&Timeline>) -> R) -> R {
        let id = self.id();
        self.stored.with(|s| f(s.as_ref().filter(|(r, _)| Some(&r.id) == id.as_ref() && is_over(r)).map(|(_, t)| t)))
    }

    /// Runs `f` on the run's recorded events (outage, breaker): none until it is over and read
    /// back, or when it had none.
    pub fn with_events<R>(&self, f: impl FnOnce(&[RunEvent]) -> R) -> R {
        let id = self.id();
        self.stored.with(|s| {
            f(s.as_ref().filter(|(r, _)| Some(&r.id) == id.as_ref() && is_over(r)).map_or(&[][..], |(_, t)| &t.events))
        })
    }

    /// Whether the run is over and its requests' records are read (the app side is counted
    /// from them from then on).
    pub fn records_read(&self) -> bool {
        self.app_peaks.with(Option::is_some)
    }

    /// The app side the picture draws: counted from the records at the shown instant once the run
    /// is over; none before (the frame's own figures are drawn then).
    pub fn app_side(&self) -> Option<AppSide> {
        let shown = self.shown()?;
        let peaks = self.app_peaks.get()?;
        let instances = self.frame().map_or(1, |f| f.instances.len().max(1));
        Some(self.with_requests(|r| AppSide::counted(r, shown.at_ms(), instances, peaks, shown.name())))
    }

    /// Whether the run is over and its stored frames are on the tape.
    pub fn is_over(&self) -> bool {
        let id = self.id();
        self.stored.with(|s| s.as_ref().is_some_and(|(r, _)| Some(&r.id) == id.as_ref()))
    }

    /// The frame the picture draws: the scrubber's (the newest when it follows), and at a named
    /// instant of a run that is over, with its pools, the server and PgBouncer as last read at or
    /// before that instant (one frame's); and
    /// when the run kept a reading of the server nearer that instant ([`fine_reading_for`]), that
    /// reading in place of the frame's own, with PgBouncer's and the pools' as read with it.
    pub fn frame(&self) -> Option<Frame> {
        let at = self.cursor.get();
        let mut frame = self.with_frames(|frames| match at {
            Some(i) => frames.get(i.min(frames.len().saturating_sub(1))).cloned(),
            None => frames.last().cloned(),
        })?;
        if let Some(at_ms) = self.instant.get() {
            // sqlx's pools, and the server and PgBouncer, as last read at or before the instant:
            // a sample holds until the next one, as the charts draw it. All from one frame, so
            // what the server sees of each instance adds up to the run's backends it shows.
            let held = self.with_frames(|frames| {
                let i = frames.partition_point(|f| f.elapsed_ms as f64 <= at_ms).checked_sub(1)?;
                frames.get(i).map(|f| (f.pool, f.instances.clone(), f.server.clone(), f.pooler))
            });
            if let Some((pool, instances, server, pooler)) = held {
                frame.pool = pool;
                frame.instances = instances;
                frame.server = server;
                frame.pooler = pooler;
            }
            let (first, last) = self.load_span();
            let fine = self.with_readings(|r| r.get(fine_reading_for(r, at_ms, first..=last)?).cloned());
            if let Some(server) = fine {
                // PgBouncer's reading of then, when the run had one and kept it beside.
                frame.pooler = server.pooler.or(frame.pooler);
                frame.server = server;
                // The app's instances (their pools, what the server sees of each) as read with it.
                let instances = std::mem::take(&mut frame.server.instances);
                if instances.len() == frame.instances.len() {
                    frame.pool = PoolFrame::sum(&instances);
                    frame.instances = instances;
                } else {
                    // A run stored before readings kept them: what the server sees, from this reading.
                    for i in frame.instances.iter_mut().filter(|i| !i.name.is_empty()) {
                        i.server_backends = frame.server.backends_of(&i.name);
                    }
                }
            }
        }
        Some(frame)
    }

    /// The load's span, from its first request's start to its last answer, read from the records.
    fn load_span(&self) -> (f64, f64) {
        self.with_requests(|r| {
            let first = r.iter().map(|r| r.start_ms).reduce(f64::min).unwrap_or(0.0);
            (first, activity::last_answer_ms(r).unwrap_or(f64::INFINITY))
        })
    }

    pub fn len(&self) -> usize {
        self.with_frames(<[Frame]>::len)
    }

    /// Where the scrubber is, as a frame index.
    pub fn position(&self) -> usize {
        let len = self.len();
        self.cursor.get().map_or(len.saturating_sub(1), |i| i.min(len.saturating_sub(1)))
    }

    pub fn peaks(&self) -> Peaks {
        self.with_frames(Peaks::of)
    }

    /// Every request of the run, once it is over and read back.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.with_requests(<[RequestRecord]>::to_vec)
    }

    /// Runs `f` on every request of the run (none until it is over and read back).
    pub fn with_requests<R>(&self, f: impl FnOnce(&[RequestRecord]) -> R) -> R {
        let id = self.id();
        self.stored
            .with(|s| f(s.as_ref().filter(|(r, _)| Some(&r.id) == id.as_ref()).map_or(&[][..], |(_, t)| &t.requests)))
    }

    /// The server's limits as the run's frames carried them, or as the server is now.
    pub fn server(&self) -> ServerFacts {
        self.with_frames(|f| f.last().map(|f| f.server.facts()))
            .or_else(|| self.live.latest.with(|l| l.as_ref().map(|f| f.server.facts())))
            .unwrap_or_default()
    }
}

/// A slider under the picture that moves the tape through the run (keyboard: arrows): through
/// its time, millisecond by millisecond for a short run, once its records are read (the app side
/// is counted at any instant); through its frames while it goes.
#[component]
pub fn Scrubber(tape: Tape) -> impl IntoView {
    let len = move || tape.len();
    let end_ms = move || tape.with_frames(|f| f.last().map_or(0.0, |f| f.elapsed_ms as f64));
    // In milliseconds once the records are read: about 400 steps over the run, whole ms.
    let timed = move || tape.records_read();
    let step = move || (end_ms() / 400.0).ceil().max(1.0) as u64;
    let time = move || match tape.shown() {
        Some(shown) => shown.at_ms(),
        None => tape.frame().map_or(0.0, |f| f.elapsed_ms as f64),
    };
    // Whole numbers, written as integers (an `f64`'s own printer would weigh on the page).
    let max = move || if timed() { (end_ms() as u64).to_string() } else { len().saturating_sub(1).to_string() };
    let value = move || if timed() { format!("{:.0}", Dec(time().min(end_ms()))) } else { tape.position().to_string() };
    let following = move || tape.cursor.get().is_none() && tape.instant.get().is_none();
    view! {
        <div class="scrub" data-testid="scrubber-box">
            <label for="scrubber">{move || format!("{} into the run", ms_text(time()))}</label>
            <input id="scrubber" type="range" min="0" max=max step=move || if timed() { step().to_string() } else { "1".to_owned() }
                prop:disabled=move || if timed() { end_ms() < 1.0 } else { len() < 2 }
                prop:value=value
                on:input=move |ev| {
                    // Whole numbers either way (ms, or a frame's index): no float parser in the page.
                    let Ok(v) = event_target_value(&ev).parse::<u64>() else { return };
                    if timed() {
                        tape.go_to(v as f64);
                    } else {
                        tape.instant.set(None);
                        let v = v as usize;
                        tape.cursor.set((v + 1 < len()).then_some(v));
                    }
                } />
            <button type="button" class="secondary small" prop:disabled=following
                on:click=move |_| {
                    tape.instant.set(None);
                    tape.cursor.set(None);
                }>"To the end"</button>
        </div>
    }
}

/// Whether a run has ended (done, or failed).
fn is_over(run: &RunView) -> bool {
    matches!(run.state, RunState::Done | RunState::Failed)
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_run_changes_when_its_place_state_or_summary_does() {
        let run = |state, position, summary: bool| RunView {
            id: "r1".into(),
            state,
            spec: poollab_shared::RunSpec::default(),
            submitted_at_ms: 0,
            summary: summary.then(poollab_shared::Summary::default),
            error: None,
            position,
            worker: None,
            learners: 1,
            timeline: None,
        };
        let queued = Some(run(RunState::Queued, Some(2), false));
        let table = [
            (queued.clone(), queued.clone(), false),
            (queued.clone(), Some(run(RunState::Queued, Some(1), false)), true),
            (queued.clone(), Some(run(RunState::Running, None, false)), true),
            (Some(run(RunState::Done, None, false)), Some(run(RunState::Done, None, true)), true),
            (queued.clone(), None, true),
        ];
        for (a, b, changed) in table {
            assert_eq!(run_changed(Some(&a), Some(&b)), changed, "{a:?} -> {b:?}");
        }
        assert!(run_changed(None, Some(&queued)), "the first value is a change");
    }
    use poollab_shared::AppFigure;

    use super::*;

    #[test]
    fn an_instant_of_the_load_goes_with_a_reading_taken_while_the_load_ran() {
        // Readings at 84, 184, 284, 384 and 484 ms (the frames at 100 ms steps, each read 16 ms
        // before it went out); a warm pool was opened first, so the load ran from 200 to 406 ms.
        let frames: Vec<Frame> = (1..=5u64)
            .map(|n| {
                let mut f = Frame { elapsed_ms: n * 100, ..Frame::default() };
                f.server.read_at_ms = Some(n * 100 - 16);
                f
            })
            .collect();
        let load = 200.0..=406.0;
        // (instant, the frame whose reading goes with it)
        let table = [
            // Nearest is the 184 ms reading, of the pool still opening: the load's first is taken.
            (228.0, Some(2)),
            (300.0, Some(2)),
            // The 484 ms reading is after the last answer: the last one of the load is taken.
            (405.0, Some(3)),
            // After the last answer, or before the load began, any reading.
            (480.0, Some(4)),
            (90.0, Some(0)),
        ];
        for (at, frame) in table {
            assert_eq!(reading_for(&frames, at, load.clone()), frame, "at {at} ms");
        }
        // A load no reading fell in: the nearest of all.
        assert_eq!(reading_for(&frames, 230.0, 200.0..=260.0), Some(1));
    }

    #[test]
    fn an_instant_of_a_short_run_goes_with_the_fine_reading_nearest_it() {
        // Readings every 10 ms from 5 ms (each took 2 ms to answer: it shows the server at 6, 16,
        // ...), the first second's, kept by the run; the load ran from 0 to 53 ms.
        let readings: Vec<ServerFrame> = (0..12u64)
            .map(|n| ServerFrame { read_at_ms: Some(5 + 10 * n), read_took_ms: 2, ..ServerFrame::default() })
            .collect();
        let load = 0.0..=53.0;
        // (instant, the reading that goes with it)
        let table = [
            // The picture at 13 ms: the reading of 16 ms, not a frame's of 84.
            (13.0, Some(1)),
            (39.0, Some(3)),
            // The last answer came at 53 ms: the 56 ms reading, nearer, is after it, so the 46 ms one.
            (52.9, Some(4)),
            // After the last answer, any: the nearest.
            (60.0, Some(5)),
            // Past the last reading kept: none (a frame's reading is as near).
            (200.0, None),
        ];
        for (at, want) in table {
            assert_eq!(fine_reading_for(&readings, at, load.clone()), want, "at {at} ms");
        }
        assert_eq!(fine_reading_for(&[], 13.0, load), None, "a run stored before readings were kept");
    }

    #[test]
    fn a_run_that_is_over_is_shown_at_a_named_instant() {
        let o = Opening { moment: Moment::Busiest, figure: AppFigure::Holding, count: 80, at_ms: 331.0 };
        let busiest = Some(o);
        // (instant, following, frame ms) -> shown; the last answer came at 400 ms.
        let table = [
            (Some(331.0), false, 300.0, Shown::Opening(o)),
            (Some(331.0), true, 500.0, Shown::Opening(o)),
            (None, false, 200.0, Shown::Frame(200.0)),
            (None, false, 450.0, Shown::AfterTheLastAnswer { answer_ms: 400.0, frame_ms: 450.0 }),
            // Following the end: after the last answer, even if the last frame's ms is earlier.
            (None, true, 399.0, Shown::AfterTheLastAnswer { answer_ms: 400.0, frame_ms: 399.0 }),
        ];
        for (instant, following, frame_ms, want) in table {
            assert_eq!(shown(instant, following, busiest, frame_ms, 400.0), want, "{instant:?} {following} {frame_ms}");
        }
        assert_eq!(Shown::AfterTheLastAnswer { answer_ms: 400.0, frame_ms: 399.0 }.at_ms(), 400.0);
    }

    #[test]
    fn times_read_as_people_say_them() {
        let table = [(0.0, "0 ms"), (4.46, "4.5 ms"), (32.4, "32 ms"), (331.0, "331 ms"), (2345.0, "2.3 s")];
        for (ms, words) in table {
            assert_eq!(ms_text(ms), words);
        }
    }
}
