//! Who this browser is: an anonymous learner id made up on first visit (kept in `localStorage`; it
//! only serves to share the queue fairly), and the instructor's token if this browser signed in
//! as the instructor (kept in `sessionStorage`, so it goes when the tab closes).

const LEARNER_KEY: &str = "poollab.learner";
const INSTRUCTOR_KEY: &str = "poollab.instructor";

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

pub fn learner_id() -> String {
    let stored = local().and_then(|s| s.get_item(LEARNER_KEY).ok().flatten());
    if let Some(id) = stored.filter(|id| !id.is_empty()) {
        return id;
    }
    let id = format!("learner-{:012x}", (js_sys::Math::random() * 2f64.powi(48)) as u64);
    if let Some(s) = local() {
        let _ = s.set_item(LEARNER_KEY, &id);
    }
    id
}

pub fn instructor_token() -> Option<String> {
    session().and_then(|s| s.get_item(INSTRUCTOR_KEY).ok().flatten()).filter(|t| !t.is_empty())
}

pub fn set_instructor_token(token: Option<&str>) {
    if let Some(s) = session() {
        let _ = match token {
            Some(t) => s.set_item(INSTRUCTOR_KEY, t),
            None => s.remove_item(INSTRUCTOR_KEY),
        };
    }
}

const NAME_KEY: &str = "poollab.name";

/// The name the learner chose to show their instructor (optional).
pub fn display_name() -> Option<String> {
    local().and_then(|s| s.get_item(NAME_KEY).ok().flatten()).filter(|n| !n.trim().is_empty())
}

pub fn set_display_name(name: &str) {
    if let Some(s) = local() {
        let _ = s.set_item(NAME_KEY, name.trim());
    }
}
