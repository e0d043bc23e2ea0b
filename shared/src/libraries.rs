//! What each pool knob is called, and its default, in the libraries learners use: lesson data
//! (`lessons/libraries.toml`, read from each library's source), served at `GET /api/libraries`
//! and shown beside the lab's own knobs.

use serde::{Deserialize, Serialize};

/// Every library's names for the lab's pool knobs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Libraries {
    /// The libraries, in the order every knob lists them.
    pub libraries: Vec<String>,
    pub knobs: Vec<KnobNames>,
    /// Which version of each library, and which of its files, the names were read from.
    #[serde(default)]
    pub sources: Vec<Source>,
}

/// One knob of the lab's form (its id there, like `pool-max`) in every library.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnobNames {
    pub id: String,
    /// The knob in the lab's words ("Pool max size").
    pub label: String,
    pub names: Vec<LibraryName>,
    /// Where the libraries behave differently, in a sentence or two (empty: they agree).
    #[serde(default)]
    pub differs: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryName {
    pub library: String,
    /// The setting's name in that library ("none" where it has no such setting).
    pub name: String,
    pub default: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub library: String,
    pub version: String,
    #[serde(rename = "where")]
    pub file: String,
}

impl Libraries {
    /// The names of the knob with this id, if the data has it.
    pub fn knob(&self, id: &str) -> Option<&KnobNames> {
        self.knobs.iter().find(|k| k.id == id)
    }
}
