//! Reading what the browser's `JSON.parse` made (a [`JsValue`]) as a Rust type: a small
//! `serde::Deserializer` over JavaScript values.
//!
//! Why its own: a library's reader describes, in its errors, the value it did not expect, and
//! describing a number formats a float, which links core's float printer (about 14 KB of the
//! page) into the wasm even though no answer of the lab ever takes that path. This reader's
//! errors are fixed words and field names. It reads exactly what JSON can hold (null, true and
//! false, numbers, strings, arrays, plain objects) into what the wire types are made of: structs,
//! `Option`s, `Vec`s, maps, enums of plain variants (written as strings), numbers, strings.
//!
//! - A struct is read from an object's own keys, as serde_json reads it: unknown keys are skipped,
//!   or refused by a `deny_unknown_fields` type, and a missing field is `None`, its default, or
//!   an error.
//! - JSON has one kind of number. An `f64` field reads it as it is; an integer field is offered
//!   a whole one as an integer (`visit_u64`, or `visit_i64` below zero) and any other as an
//!   `f64`, and serde's visitors keep what fits (a `u32` field refuses `2.5`, `-1` and `2^40`).

use std::fmt;

use js_sys::{Array, Object, Reflect};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// Reads a parsed JSON value as a `T`.
pub fn read<T: DeserializeOwned>(value: JsValue) -> Result<T, Error> {
    T::deserialize(Value(value))
}

/// Why a value could not be read, in fixed words (and the name of a field or variant).
///
/// Boxed so that it is one pointer wide: every reader of every field passes a `Result` with
/// it up, and a narrow error makes all that code smaller.
#[derive(Debug)]
#[allow(clippy::box_collection)]
pub struct Error(Box<String>);

impl Error {
    // Errors are rare, and their code is kept out of line so that the readers of every wire type
    // (which call it from many places) stay small.
    #[cold]
    #[inline(never)]
    fn new(parts: &[&str]) -> Error {
        Error(Box::new(parts.concat()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// What kind of value it was, in a word (never the value itself: a number would be formatted).
fn kind(unexpected: Unexpected) -> &'static str {
    match unexpected {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => "a number",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Unit | Unexpected::Option => "null",
        Unexpected::Seq => "an array",
        Unexpected::Map => "an object",
        _ => "another kind of value",
    }
}

// Every way serde builds an error is overridden, because the default ones format the
// unexpected value (and serde's `custom` messages are built the same way): none of them may ever
// reach core's float printer.
impl de::Error for Error {
    fn custom<T: fmt::Display>(_message: T) -> Error {
        Error::new(&["the answer is not what the page expected"])
    }

    fn invalid_type(unexpected: Unexpected, _expected: &dyn de::Expected) -> Error {
        Error::new(&["invalid type: ", kind(unexpected)])
    }

    fn invalid_value(unexpected: Unexpected, _expected: &dyn de::Expected) -> Error {
        Error::new(&["invalid value: ", kind(unexpected)])
    }

    fn invalid_length(_len: usize, _expected: &dyn de::Expected) -> Error {
        Error::new(&["wrong number of elements"])
    }

    fn unknown_variant(variant: &str, _expected: &'static [&'static str]) -> Error {
        Error::new(&["unknown variant `", variant, "`"])
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Error {
        Error::new(&["unknown field `", field, "`"])
    }

    fn missing_field(field: &'static str) -> Error {
        Error::new(&["missing field `", field, "`"])
    }

    fn duplicate_field(field: &'static str) -> Error {
        Error::new(&["duplicate field `", field, "`"])
    }
}

/// The largest whole number a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// One JavaScript value being read.
struct Value(JsValue);

/// A JSON number as serde is offered it.
enum Number {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

impl Value {
    fn is_null(&self) -> bool {
        self.0.is_null() || self.0.is_undefined()
    }

    /// The error for a value of the wrong kind.
    #[cold]
    #[inline(never)]
    fn wrong(&self) -> Error {
        let what = if self.is_null() {
            "null"
        } else if self.0.as_bool().is_some() {
            "a boolean"
        } else if self.0.as_f64().is_some() {
            "a number"
        } else if self.0.is_string() {
            "a string"
        } else if Array::is_array(&self.0) {
            "an array"
        } else if self.0.is_object() {
            "an object"
        } else {
            "another kind of value"
        };
        Error::new(&["invalid type: ", what])
    }

    /// A number, offered as an integer when it is a whole one.
    fn number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.as_number()? {
            Number::Unsigned(n) => visitor.visit_u64(n),
            Number::Signed(n) => visitor.visit_i64(n),
            Number::Float(n) => visitor.visit_f64(n),
        }
    }

    /// The number, sorted out once here rather than in the reader of every numeric field.
    #[inline(never)]
    fn as_number(&self) -> Result<Number, Error> {
        match self.0.as_f64() {
            Some(n) if n.trunc() == n && n.abs() <= MAX_SAFE_INTEGER => {
                Ok(if n >= 0.0 { Number::Unsigned(n as u64) } else { Number::Signed(n as i64) })
            }
            Some(n) => Ok(Number::Float(n)),
            None => Err(self.wrong()),
        }
    }

    // What does not depend on the type being read is written once, out of line, in the
    // functions below, rather than again in the reader of every wire type and field.

    #[inline(never)]
    fn string(self) -> Result<String, Error> {
        self.0.as_string().ok_or_else(|| self.wrong())
    }

    #[inline(never)]
    fn float(self) -> Result<f64, Error> {
        self.0.as_f64().ok_or_else(|| self.wrong())
    }

    #[inline(never)]
    fn elements(self) -> Result<Elements, Error> {
        if !Array::is_array(&self.0) {
            return Err(self.wrong());
        }
        let array: Array = self.0.unchecked_into();
        Ok(Elements { len: array.length(), array, next: 0 })
    }

    #[inline(never)]
    fn entries(self) -> Result<Entries, Error> {
        if !self.0.is_object() || Array::is_array(&self.0) {
            return Err(self.wrong());
        }
        let keys = Object::keys(self.0.unchecked_ref::<Object>());
        Ok(Entries { len: keys.length(), keys, object: self.0, next: 0, value: None })
    }

    fn seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(self.elements()?)
    }

    fn map<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(self.entries()?)
    }
}

/// An array's elements, in order.
struct Elements {
    array: Array,
    next: u32,
    len: u32,
}

impl Elements {
    #[inline(never)]
    fn advance(&mut self) -> Option<Value> {
        if self.next >= self.len {
            return None;
        }
        let element = self.array.get(self.next);
        self.next += 1;
        Some(Value(element))
    }
}

impl<'de> de::SeqAccess<'de> for Elements {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.advance() {
            Some(element) => seed.deserialize(element).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.len - self.next) as usize)
    }
}

/// An object's own keys (`Object.keys`) and their values.
struct Entries {
    object: JsValue,
    keys: Array,
    next: u32,
    len: u32,
    /// The value of the key just read.
    value: Option<JsValue>,
}

impl Entries {
    /// The next key, its value kept for [`Entries::take_value`].
    #[inline(never)]
    fn advance(&mut self) -> Result<Option<Value>, Error> {
        if self.next >= self.len {
            return Ok(None);
        }
        let key = self.keys.get(self.next);
        self.next += 1;
        self.value = Some(Reflect::get(&self.object, &key).map_err(|_| Error::new(&["an object could not be read"]))?);
        Ok(Some(Value(key)))
    }

    #[inline(never)]
    fn take_value(&mut self) -> Value {
        // serde asks for a value only after its key; were it to ask twice, the value is missing.
        Value(self.value.take().unwrap_or(JsValue::UNDEFINED))
    }
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.advance()? {
            Some(key) => seed.deserialize(key).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(self.take_value())
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.len - self.next) as usize)
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    /// For types that read whatever comes: serde's buffered enums, and skipped values.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() {
            visitor.visit_unit()
        } else if let Some(b) = self.0.as_bool() {
            visitor.visit_bool(b)
        } else if self.0.as_f64().is_some() {
            self.number(visitor)
        } else if let Some(s) = self.0.as_string() {
            visitor.visit_string(s)
        } else if Array::is_array(&self.0) {
            self.seq(visitor)
        } else {
            self.map(visitor)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_bool() {
            Some(b) => visitor.visit_bool(b),
            None => Err(self.wrong()),
        }
    }

    // Every integer width reads the same way; serde's visitors check the range.
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    /// Always as an `f64`, whole or not (so `-0` stays `-0`).
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(self.float()?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.string()?)
    }

    /// A field's or a variant's name.
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    /// `null` (or a missing value) is `None`; anything else is `Some` of it.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() { visitor.visit_unit() } else { Err(self.wrong()) }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.map(visitor)
    }

    /// A plain variant, written as its name (`"pooled"`). No wire type the page reads has a
    /// variant with data in it.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(self.string()?))
    }

    /// A value the type does not keep (an unknown key's): not even looked at.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! { char bytes byte_buf i128 u128 }
}
