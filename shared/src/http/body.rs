//! Request bodies: at most 4 KiB, a JSON object, typed fields. Unknown keys
//! are ignored; a duplicate key, a wrong type or a body that is not an
//! object is a 400 that names what is wrong.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;

pub const MAX_BODY_BYTES: usize = 4096;

pub fn check_size(body: &[u8]) -> Result<(), Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    Ok(())
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    check_size(body)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::InvalidRequest(
            "The request body must be a JSON object.".into(),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| Error::InvalidRequest("The request body is not valid JSON.".into()))?;
    if !value.is_object() {
        return Err(Error::InvalidRequest(
            "The request body must be a JSON object.".into(),
        ));
    }
    // Parsed again from the bytes, not from `value`: a `Value` keeps only the
    // last of duplicate keys, while the typed parse refuses them.
    serde_json::from_slice(body).map_err(|e| Error::InvalidRequest(describe(&e)))
}

/// Names a duplicate key; says nothing of values, which may be secrets.
fn describe(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.split(" at line ").next() {
        Some(duplicate) if duplicate.starts_with("duplicate field") => {
            format!("The request body has a {duplicate}.")
        }
        _ => "The request body has an invalid field.".into(),
    }
}

/// A field that must be a string when present; `null` counts as absent.
pub fn text(field: &'static str, value: Option<Value>) -> Result<Option<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::InvalidRequest(format!(
            "The field `{field}` must be a string."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        phone: Option<Value>,
    }

    fn err(body: &str) -> Error {
        parse::<Body>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn takes_objects_and_ignores_unknown_keys() {
        let body: Body = parse(br#"{"phone": "+7", "extra": [1, {"a": null}]}"#).unwrap();
        assert_eq!(text("phone", body.phone).unwrap().as_deref(), Some("+7"));
        let empty: Body = parse(b"{}").unwrap();
        assert!(empty.phone.is_none());
    }

    #[test]
    fn refuses_what_is_not_an_object_with_typed_fields() {
        for body in [
            "",
            "  ",
            "[]",
            "\"x\"",
            "1",
            "null",
            "{",
            "{\"phone\":}",
            "phone=+7",
        ] {
            assert!(matches!(err(body), Error::InvalidRequest(_)), "{body:?}");
        }
        let body: Body = parse(br#"{"phone": 79123456789}"#).unwrap();
        match text("phone", body.phone) {
            Err(Error::InvalidRequest(detail)) => {
                assert_eq!(detail, "The field `phone` must be a string.");
            }
            other => panic!("{other:?}"),
        }
        match err(r#"{"phone": "+1", "phone": "+2"}"#) {
            Error::InvalidRequest(detail) => {
                assert!(detail.contains("duplicate field"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_large_bodies_before_parsing() {
        let big = format!("{{\"phone\": \"{}\"}}", "1".repeat(MAX_BODY_BYTES));
        assert!(matches!(err(&big), Error::PayloadTooLarge));
    }
}
