//! The live feed: a websocket to `/ws` that reconnects when it drops, and the signals its
//! messages fill.

use std::time::Duration;

use leptos::prelude::*;
use poollab_shared::{ClassState, Frame, LineView, RunState, RunView, ServerMessage};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{MessageEvent, WebSocket};

/// Frames of the watched run kept in the page.
const MAX_LIVE_FRAMES: usize = 1_200;

/// What the page knows from the backend, as signals.
#[derive(Clone, Copy)]
pub struct Live {
    pub connected: RwSignal<bool>,
    /// The newest frame, idle or not: what the server is like now.
    pub latest: RwSignal<Option<Frame>>,
    /// The frames of the run being watched, as they arrive.
    pub frames: RwSignal<Vec<Frame>>,
    /// The run whose frames are arriving (the one running now, or the last one that ran).
    pub watching: RwSignal<Option<String>>,
    /// Recent runs, newest first.
    pub runs: RwSignal<Vec<RunView>>,
    /// What the instructor has set for the class (lock, step to follow).
    pub class: RwSignal<ClassState>,
    /// The line: how many runs wait, where this learner's are, which workers are up.
    pub line: RwSignal<LineView>,
    /// The open socket, to say which runs this page watches.
    socket: StoredValue<Option<WebSocket>, LocalStorage>,
}

impl Live {
    pub fn connect() -> Live {
        let live = Live {
            connected: RwSignal::new(false),
            latest: RwSignal::new(None),
            frames: RwSignal::new(Vec::new()),
            watching: RwSignal::new(None),
            runs: RwSignal::new(Vec::new()),
            class: RwSignal::new(ClassState::default()),
            line: RwSignal::new(LineView::default()),
            socket: StoredValue::new_local(None),
        };
        live.open();
        leptos::task::spawn_local(async move {
            if let Ok(runs) = crate::api::recent_runs().await {
                live.runs.set(runs);
            }
        });
        live
    }

    /// A run this page started: show it at once, before its first update arrives.
    pub fn track(self, view: RunView) {
        // Its frames may already be arriving: start a fresh chart only if it is a new run.
        if self.watching.get_untracked().as_deref() != Some(view.id.as_str()) {
            self.watch(&view.id);
        }
        self.upsert(view);
    }

    /// Starts collecting the frames of run `id` (the previous run's are let go).
    fn watch(self, id: &str) {
        self.watching.set(Some(id.to_owned()));
        self.frames.set(Vec::new());
        self.say_watch();
    }

    /// Tells the lab which frames this page wants: its own runs', the instructor's, and the one
    /// it shows. (Other learners' runs may go at the same time, on other workers.)
    fn say_watch(self) {
        let run = self.watching.get_untracked();
        let msg = match run {
            Some(id) => format!(r#"{{"type":"watch","run":"{id}"}}"#),
            None => r#"{"type":"watch"}"#.to_owned(),
        };
        self.socket.with_value(|s| {
            if let Some(s) = s.as_ref().filter(|s| s.ready_state() == WebSocket::OPEN) {
                let _ = s.send_with_str(&msg);
            }
        });
    }

    /// Where a queued run of this page's is, in words.
    pub fn place(self, run: &RunView) -> String {
        self.line.with(|line| {
            let mine = line.mine.iter().find(|p| p.id == run.id);
            let waiting = match (mine.and_then(|p| p.position).or(run.position), line.paused) {
                (_, true) => "Waiting: your instructor has paused your runs for now.".to_owned(),
                (Some(p), false) => format!("Waiting in line: you are #{p}."),
                (None, false) => "Waiting in line.".to_owned(),
            };
            match line.stalled() {
                Some(why) => format!("{waiting} No run can start now: {why}."),
                None => waiting,
            }
        })
    }

    /// Who else is on a shared run (learners who asked for the identical run while it waited
    /// joined it): "Shared with 37 classmates.", or nothing for a run of one's own.
    pub fn shared_with(run: &RunView) -> Option<String> {
        match run.learners.saturating_sub(1) {
            0 => None,
            1 => Some("Shared with 1 classmate.".to_owned()),
            n => Some(format!("Shared with {n} classmates.")),
        }
    }

    /// The worker a run went to, when there are several to tell apart.
    pub fn worker_of(self, run: &RunView) -> Option<String> {
        let several = self.line.with(|l| l.workers.len() > 1);
        run.worker.clone().filter(|_| several)
    }

    fn upsert(self, view: RunView) {
        // A view read over HTTP may be older than what the websocket said meanwhile (a short run
        // can finish between the POST and the GET that follows it): a run never goes back.
        let progress = |s: RunState| match s {
            RunState::Queued => 0,
            RunState::Running => 1,
            RunState::Done | RunState::Failed => 2,
        };
        self.runs.update(|runs| match runs.iter_mut().find(|r| r.id == view.id) {
            Some(r) if progress(r.state) > progress(view.state) => {}
            Some(r) => *r = view,
            None => runs.insert(0, view),
        });
    }

    fn on_message(self, msg: ServerMessage) {
        match msg {
            ServerMessage::Frame(frame) => {
                if let Some(id) = &frame.run_id {
                    if self.watching.with_untracked(|w| w.as_deref() != Some(id)) {
                        self.watch(id);
                    }
                    self.frames.update(|f| {
                        f.push(frame.clone());
                        // Two minutes at ten frames a second; a finished run is read back whole
                        // from the store.
                        if f.len() > MAX_LIVE_FRAMES {
                            f.drain(..f.len() - MAX_LIVE_FRAMES);
                        }
                    });
                }
                self.latest.set(Some(frame));
            }
            ServerMessage::Run(view) => {
                if view.state == RunState::Running && self.watching.get_untracked().as_deref() != Some(&view.id) {
                    self.watch(&view.id);
                }
                self.upsert(view);
            }
            ServerMessage::Class(class) => self.class.set(class),
            ServerMessage::Line(line) => self.line.set(line),
            ServerMessage::Hello { .. } | ServerMessage::Pong | ServerMessage::Error { .. } => {}
        }
    }

    fn open(self) {
        let Some(window) = web_sys::window() else { return };
        let location = window.location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
        let host = location.host().unwrap_or_default();
        let Ok(socket) = WebSocket::new(&format!("{scheme}://{host}/ws")) else {
            self.retry();
            return;
        };

        let on_open = Closure::<dyn FnMut()>::new(move || {
            self.connected.set(true);
            self.say_watch();
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let Some(text) = ev.data().as_string()
                && let Some(msg) = decode(&text)
            {
                self.on_message(msg);
            }
        });
        let on_close = Closure::<dyn FnMut()>::new(move || {
            self.connected.set(false);
            self.retry();
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket.set_value(Some(socket));
        // The socket lives as long as the page; so do its handlers.
        on_open.forget();
        on_message.forget();
        on_close.forget();
    }

    fn retry(self) {
        set_timeout(move || self.open(), Duration::from_secs(1));
    }
}

/// Reads a server message: its `type` first, then the rest as that type. (The same JSON as the
/// internally tagged `ServerMessage`; serde's own way of reading such an enum buffers the payload
/// and compiles a second reader for every type in it, which the page's size would pay for.)
fn decode(text: &str) -> Option<ServerMessage> {
    let value = js_sys::JSON::parse(text).ok()?;
    let kind = js_sys::Reflect::get(&value, &"type".into()).ok()?.as_string()?;
    Some(match kind.as_str() {
        "frame" => ServerMessage::Frame(crate::json::from_value(value).ok()?),
        "run" => ServerMessage::Run(crate::json::from_value(value).ok()?),
        "class" => ServerMessage::Class(crate::json::from_value(value).ok()?),
        "line" => ServerMessage::Line(crate::json::from_value(value).ok()?),
        _ => return None,
    })
}
