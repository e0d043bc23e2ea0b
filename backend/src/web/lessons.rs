//! `GET /api/lessons`: the course, as the page reads it; `GET /api/libraries`: what its pool
//! knobs are called in other libraries.

use axum::Json;
use axum::extract::State;
use poollab_shared::{Lesson, Libraries};

use crate::web::state::AppState;

pub async fn list(State(state): State<AppState>) -> Json<Vec<Lesson>> {
    Json(state.lessons.as_ref().clone())
}

pub async fn libraries(State(state): State<AppState>) -> Json<Libraries> {
    Json(state.libraries.as_ref().clone())
}

/// `GET /api/libraries/table`: the same names as an HTML table, for the page to show as it is.
pub async fn library_table(State(state): State<AppState>) -> axum::response::Html<String> {
    axum::response::Html(render_table(&state.libraries))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The table: a row per knob, a column per library (its name for the knob, and its default);
/// then where the libraries differ, and where each was read from.
fn render_table(libs: &Libraries) -> String {
    let mut html = String::from(
        "<div class=\"scroll\"><table><caption>Each pool setting's name, and its default, in six libraries</caption>\
         <thead><tr><th scope=\"col\">Setting</th>",
    );
    for lib in &libs.libraries {
        html += &format!("<th scope=\"col\">{}</th>", escape(lib));
    }
    html += "</tr></thead><tbody>";
    for knob in &libs.knobs {
        html += &format!("<tr data-knob=\"{}\"><th scope=\"row\">{}</th>", escape(&knob.id), escape(&knob.label));
        for n in &knob.names {
            html += &format!("<td><code>{}</code><small>{}</small></td>", escape(&n.name), escape(&n.default));
        }
        html += "</tr>";
    }
    html += "</tbody></table></div><ul class=\"differs\">";
    for knob in libs.knobs.iter().filter(|k| !k.differs.is_empty()) {
        html += &format!("<li><strong>{}:</strong> {}</li>", escape(&knob.label), escape(&knob.differs));
    }
    let sources: Vec<String> =
        libs.sources.iter().map(|s| escape(&format!("{} {} ({})", s.library, s.version, s.file))).collect();
    html += &format!("</ul><p class=\"muted\">Read from each library's source: {}.</p>", sources.join("; "));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_knob_a_column_per_library_and_escapes_the_data() {
        let libs = crate::lessons::libraries().expect("lessons/libraries.toml");
        let html = render_table(&libs);
        assert_eq!(html.matches("<tr data-knob=").count(), libs.knobs.len());
        assert_eq!(html.matches("<td>").count(), libs.knobs.len() * libs.libraries.len());
        assert!(html.contains("<code>maximumPoolSize</code>"), "{html}");
        let odd = Libraries { libraries: vec!["<b>".into()], ..Libraries::default() };
        assert!(render_table(&odd).contains("&lt;b&gt;"));
    }
}
