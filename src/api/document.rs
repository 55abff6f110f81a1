//! The OpenAPI document as served: poem-openapi's, written in the forms every mainstream client generator reads
//! (openapi-generator, openapi-python-client, openapi-typescript; `.ci/run` generates a client with each).

use serde_json::{Map, Value};

/// The served document from the one poem-openapi writes.
pub fn finish(spec: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(spec) else {
        return spec.to_owned();
    };
    rewrite(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned())
}

/// Every schema of the document, depth first.
fn rewrite(v: &mut Value) {
    match v {
        Value::Object(o) => {
            standard_date(o);
            single_reference(o);
            o.values_mut().for_each(rewrite);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

/// poem-openapi writes dates as `format: naive-date`, which generated clients do not recognise; the document says
/// `format: date`, the OpenAPI format for `YYYY-MM-DD`.
fn standard_date(o: &mut Map<String, Value>) {
    if o.get("format").and_then(Value::as_str) == Some("naive-date") {
        o.insert("format".into(), "date".into());
    }
}

/// A field whose type is a named schema (an enum, an object) with its own description, and `nullable` where it may
/// be null: poem-openapi writes `allOf: [{$ref}, {description, nullable}]`, a second member that openapi-python-client
/// reads as a schema of its own and drops the field's type with. The document keeps `allOf: [{$ref}]` with the
/// description and `nullable` beside it, the OpenAPI 3.0 form of a described, nullable reference.
fn single_reference(o: &mut Map<String, Value>) {
    let Some(Value::Array(members)) = o.get_mut("allOf") else {
        return;
    };
    let annotation = |m: &Value| {
        m.as_object()
            .is_some_and(|m| m.keys().all(|k| k == "description" || k == "nullable"))
    };
    let (notes, kept): (Vec<Value>, Vec<Value>) = members.drain(..).partition(annotation);
    *members = kept;
    for note in notes.into_iter().filter_map(|n| n.as_object().cloned()) {
        for (k, v) in note {
            o.entry(k).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashSet, fmt};

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::json;

    use super::*;
    use crate::config::Config;

    /// A JSON value whose objects name each key once: serde_json keeps the last of a repeated key without a word,
    /// where strict parsers (openapi-generator's) refuse the document.
    struct Unique;

    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Unique)
        }
    }

    impl<'de> Visitor<'de> for Unique {
        type Value = Unique;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("JSON")
        }

        fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique)
        }

        fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique)
        }

        fn visit_unit<E>(self) -> Result<Unique, E> {
            Ok(Unique)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(de::Error::custom(format!(
                        "the key {key:?} appears twice in one object"
                    )));
                }
                map.next_value::<Unique>()?;
            }
            Ok(Unique)
        }
    }

    /// poem-openapi's document itself, before [`finish`] (which would hide a repeated key by keeping the last).
    fn written() -> String {
        super::super::unserved(&Config::default()).spec()
    }

    #[test]
    fn the_document_names_no_key_twice_and_every_operation_once() {
        let raw = written();
        serde_json::from_str::<Unique>(&raw).unwrap();
        let served: Value = serde_json::from_str(&finish(&raw)).unwrap();
        let mut ids = HashSet::new();
        for (path, ops) in served["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let id = op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            }
        }
        assert!(ids.contains("moveProjectStage") && ids.len() > 90, "{ids:?}");
    }

    #[test]
    fn a_repeated_key_is_found() {
        assert!(serde_json::from_str::<Unique>(r#"{"a": {"422": 1, "422": 2}}"#).is_err());
        assert!(serde_json::from_str::<Unique>(r#"{"a": [{"422": 1}, {"422": 2}]}"#).is_ok());
    }

    #[test]
    fn a_described_nullable_reference_is_one_member() {
        let spec = json!({"properties": {"role": {
            "description": "Role.",
            "allOf": [{"$ref": "#/components/schemas/Role"}, {"description": "Role.", "nullable": true}],
        }, "day": {"type": "string", "format": "naive-date"}}});
        let done: Value = serde_json::from_str(&finish(&spec.to_string())).unwrap();
        assert_eq!(
            done,
            json!({"properties": {"role": {
                "description": "Role.",
                "nullable": true,
                "allOf": [{"$ref": "#/components/schemas/Role"}],
            }, "day": {"type": "string", "format": "date"}}})
        );
    }
}
