//! What the pool's knobs are called, and their defaults, in other libraries: lesson data
//! (`lessons/libraries.toml`, read from each library's source). The lab serves it as a table
//! (`GET /api/libraries/table`), which the page shows as it comes, in the sandbox and
//! under every pooled step: the page carries no code of its own for it.

use leptos::prelude::*;

/// The table, fetched once for the whole page.
#[derive(Clone, Copy)]
struct Table(RwSignal<String>);

/// Loads the table once, for every place on the page that shows it.
pub fn provide() {
    let table = RwSignal::new(String::new());
    provide_context(Table(table));
    leptos::task::spawn_local(async move {
        if let Ok(html) = crate::api::library_table().await {
            table.set(html);
        }
    });
}

/// The pool knobs, and what each is called (with its default) in six libraries.
#[component]
pub fn LibraryNames() -> impl IntoView {
    let Table(table) = use_context::<Table>()?;
    Some(view! {
        <details class="card libs" data-testid="library-names">
            <summary>"These pool settings in your library: sqlx, node-postgres, HikariCP, pgx, psycopg_pool, SQLAlchemy"</summary>
            <div inner_html=move || table.get()></div>
        </details>
    })
}
