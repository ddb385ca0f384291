//! Query-string parameters.

/// The first value of `name` in a query string, percent-decoded. A bare `+`
/// stays a plus: people paste E.164 numbers into address bars as they are.
pub fn param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes_parameters() {
        let q = Some("a=1&phone=+79123456789&b=%2B7&c=%2&d=%zz1&e");
        assert_eq!(param(q, "phone").as_deref(), Some("+79123456789"));
        assert_eq!(param(q, "b").as_deref(), Some("+7"));
        assert_eq!(param(q, "c").as_deref(), Some("%2"));
        assert_eq!(param(q, "d").as_deref(), Some("%zz1"));
        assert_eq!(param(q, "e").as_deref(), Some(""));
        assert_eq!(param(q, "missing"), None);
        assert_eq!(param(None, "a"), None);
    }
}
