//! Where the learner is: every view has its own URL (in the hash, so the backend serves one page).
//!
//! `#/` the course, `#/lesson/<id>/<step>` one step of a lesson (from 1), `#/run/<id>` one stored
//! run (to share, replay and fork); `#/sandbox` and `#/instructor` open the pages of their own,
//! `/sandbox/` (every knob) and `/instructor/`.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Course,
    Step { lesson: String, step: usize },
    Sandbox,
    Run(String),
    Instructor,
}

impl Route {
    pub fn parse(hash: &str) -> Route {
        let parts: Vec<&str> = hash.trim_start_matches('#').trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["sandbox"] => Route::Sandbox,
            ["instructor"] => Route::Instructor,
            ["run", id] if !id.is_empty() => Route::Run((*id).to_owned()),
            ["lesson", lesson] => Route::Step { lesson: (*lesson).to_owned(), step: 1 },
            ["lesson", lesson, step] => {
                Route::Step { lesson: (*lesson).to_owned(), step: step.parse().unwrap_or(1).max(1) }
            }
            _ => Route::Course,
        }
    }

    /// The view's address, from the site's root, so it reads the same on the learners' page and
    /// on the pages of their own (the sandbox's, the instructor's).
    pub fn href(&self) -> String {
        match self {
            Route::Course => "/#/".into(),
            Route::Sandbox => "/sandbox/".into(),
            Route::Instructor => "/instructor/".into(),
            Route::Run(id) => format!("/#/run/{id}"),
            Route::Step { lesson, step } => format!("/#/lesson/{lesson}/{step}"),
        }
    }
}

fn current_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// The current route, following the address bar (links, back and forward buttons).
pub fn follow() -> RwSignal<Route> {
    let route = RwSignal::new(Route::parse(&current_hash()));
    if let Some(window) = web_sys::window() {
        let on_change = Closure::<dyn FnMut()>::new(move || {
            route.set(Route::parse(&current_hash()));
            // A new view starts at its top.
            if let Some(w) = web_sys::window() {
                w.scroll_to_with_x_and_y(0.0, 0.0);
            }
        });
        let _ = window.add_event_listener_with_callback("hashchange", on_change.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        on_change.forget();
    }
    route
}

/// Goes to a route, as following a link would.
pub fn go(route: &Route) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(&route.href());
    }
}
