//! Who this browser is. The lab gives it an anonymous learner id in a cookie the page cannot read
//! (the browser sends it by itself), so this module only keeps the instructor's token if this
//! browser signed in as the instructor (in `sessionStorage`, so it goes when the tab closes), and
//! the display name a learner chose.

const INSTRUCTOR_KEY: &str = "poollab.instructor";

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
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
