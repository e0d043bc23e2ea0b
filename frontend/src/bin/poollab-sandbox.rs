//! The sandbox's page: its own wasm, so learners of the course never download its run form.
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(poollab_frontend::sandbox::SandboxPage);
}
