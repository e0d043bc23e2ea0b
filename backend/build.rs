//! Embeds the course (and the built page): every `lessons/*.toml` file at the top of the repository becomes part of
//! the binary, so a teacher adds or edits a lesson without touching Rust (the file name, minus
//! `.toml`, is the lesson's id and sets its order).

use std::path::PathBuf;

fn main() {
    // The built page is embedded too (see routes/page.rs); rebuild when Trunk rebuilds it.
    println!("cargo:rerun-if-changed={}", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist").display());
    // sqlx::migrate! reads the folder when it expands: a new migration must rebuild the crate.
    println!("cargo:rerun-if-changed={}", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations").display());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lessons");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                // Not a lesson: every library's names for the pool knobs (see LIBRARIES below).
                .filter(|p| p.file_stem().is_none_or(|s| s != "libraries"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// Every lesson file: (id, TOML text), in order.\npub const LESSON_FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let id = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        out.push_str(&format!("    ({id:?}, include_str!({:?})),\n", file.display().to_string()));
    }
    out.push_str("];\n");
    let libraries = dir.join("libraries.toml");
    println!("cargo:rerun-if-changed={}", libraries.display());
    out.push_str(&format!(
        "/// Every library's names for the pool knobs (lessons/libraries.toml).\npub const LIBRARIES: &str = include_str!({:?});\n",
        libraries.display().to_string()
    ));
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("lessons.rs");
    std::fs::write(target, out).expect("write lessons.rs");
}
