//! Which JSON value a body type expects at the top level. serde's derived
//! `Deserialize` for a struct also accepts an array and takes its fields
//! by position, so `["x@y.example","Name","admin","pw"]` would be read as
//! a `CreateUser`. The JSON extractor asks the type here (by seeing which
//! `Deserializer` method its `Deserialize` impl calls, without any input)
//! and refuses a body whose top-level value is not the expected object.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// What a body type asks the deserializer for at the top level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A struct, map, enum, or a type read self-describingly
    /// (`deserialize_any`, as internally tagged enums are): the body must
    /// be an object.
    Object,
    /// A sequence or tuple: the body is an array.
    Array,
    /// A scalar, option or unit: the deserializer's own checks suffice.
    Other,
}

/// The shape `T` expects.
pub fn expected<'de, T: Deserialize<'de>>() -> Shape {
    match T::deserialize(Probe) {
        Err(Found(shape)) => shape,
        // The probe never yields a value; a type that builds one from
        // nothing (unit-like) takes whatever it is given.
        Ok(_) => Shape::Other,
    }
}

/// The probe's only outcome: the shape a type asked for.
#[derive(Debug)]
struct Found(Shape);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "asked for {:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self(Shape::Other)
    }
}

struct Probe;

macro_rules! found {
    ($shape:expr => $($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $(_: $ty,)* _: V) -> Result<V::Value, Found> {
                Err(Found($shape))
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Probe {
    type Error = Found;

    found!(Shape::Object =>
        deserialize_any(),
        deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    );
    found!(Shape::Array =>
        deserialize_seq(),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
    );
    found!(Shape::Other =>
        deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(),
        deserialize_u32(), deserialize_u64(), deserialize_u128(), deserialize_f32(),
        deserialize_f64(), deserialize_char(), deserialize_str(), deserialize_string(),
        deserialize_bytes(), deserialize_byte_buf(), deserialize_option(), deserialize_unit(),
        deserialize_unit_struct(name: &'static str), deserialize_identifier(),
        deserialize_ignored_any(),
    );

    /// A newtype wrapper has the shape of what it wraps.
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Found> {
        visitor.visit_newtype_struct(self)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use deskbind_core::wire::{
        AppCallRecordBatch, CreateUser, LoginRequest, PhoneEvents, PushScheduleUpdate,
    };

    #[test]
    fn structs_maps_and_enums_want_an_object() {
        assert_eq!(expected::<CreateUser>(), Shape::Object);
        assert_eq!(expected::<LoginRequest>(), Shape::Object);
        assert_eq!(expected::<AppCallRecordBatch>(), Shape::Object);
        assert_eq!(expected::<PhoneEvents>(), Shape::Object);
        assert_eq!(expected::<PushScheduleUpdate>(), Shape::Object);
        assert_eq!(expected::<BTreeMap<String, u32>>(), Shape::Object);
        assert_eq!(expected::<serde_json::Value>(), Shape::Object);
    }

    #[test]
    fn sequences_want_an_array_and_scalars_anything() {
        assert_eq!(expected::<Vec<CreateUser>>(), Shape::Array);
        assert_eq!(expected::<(u32, u32)>(), Shape::Array);
        assert_eq!(expected::<String>(), Shape::Other);
        assert_eq!(expected::<Option<u32>>(), Shape::Other);
    }
}
