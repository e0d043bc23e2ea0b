//! The instructor's page: its own wasm, so learners never download the instructor's tools.
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(poollab_frontend::instructor::InstructorPage);
}
