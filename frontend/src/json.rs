//! JSON in the page: the browser's own `JSON.parse` and `JSON.stringify` do the text. Reading,
//! [`crate::from_js`] turns the parsed JavaScript values into Rust types; writing,
//! `serde-wasm-bindgen` turns Rust types into JavaScript values. The page then carries no JSON
//! parser of its own, which keeps the wasm a learner downloads smaller.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

fn message(e: JsValue) -> String {
    e.as_string().unwrap_or_else(|| "not JSON".to_owned())
}

/// Reads JSON text as a `T`.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(message)?;
    from_value(value)
}

/// Reads an already parsed JavaScript value as a `T`.
pub fn from_value<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    crate::from_js::read(value).map_err(|e| e.to_string())
}

/// Writes a `T` as JSON text.
pub fn stringify<T: Serialize>(value: &T) -> Result<String, String> {
    let js = value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| e.to_string())?;
    js_sys::JSON::stringify(&js).map_err(message)?.as_string().ok_or_else(|| "not JSON".to_owned())
}
