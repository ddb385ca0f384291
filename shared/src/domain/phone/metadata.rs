//! libphonenumber's metadata as build.rs compiled it: each region's
//! patterns are programs in the binary, so the first number of any region
//! a cold start reads costs what every later one does.

use super::pattern::{Inst as I, Pattern};

/// A kind of number (or all of them, the general descriptor): its pattern
/// and the lengths its national numbers have.
pub struct Desc {
    pub pattern: Pattern,
    pub lengths: &'static [u16],
    pub local_lengths: &'static [u16],
}

impl Desc {
    /// The `phonenumber` crate's `Descriptor::is_match`: a length the kind
    /// has (when it lists any) and the pattern matching from the start.
    pub fn is_match(&self, national: &str) -> bool {
        let length = national.len() as u16;
        (self.lengths.is_empty() || self.lengths.contains(&length))
            && self.pattern.matches_start(national)
    }
}

/// A national prefix's transform rule: `literal` then the text of `group`.
pub struct Transform {
    pub literal: &'static str,
    pub group: u8,
}

/// What parsing and validating read of one region (or non-geographic
/// entity, `001`).
pub struct Meta {
    pub id: &'static str,
    pub code: u16,
    pub international_prefix: Option<Pattern>,
    pub national_prefix: Option<&'static str>,
    pub prefix_for_parsing: Option<Pattern>,
    pub transform: Option<Transform>,
    pub leading_digits: Option<Pattern>,
    pub general: Desc,
    /// The kinds a valid number matches one of.
    pub kinds: &'static [Desc],
}

include!(concat!(env!("OUT_DIR"), "/phone_metadata.rs"));

/// The regions of a calling code, the main one first.
pub fn regions(code: u16) -> Option<&'static [Meta]> {
    BY_CODE
        .binary_search_by_key(&code, |(c, _)| *c)
        .ok()
        .map(|i| BY_CODE[i].1)
}

/// The calling code that a run of digits starts with. Calling codes are
/// prefix-free, so there is at most one; none starts with 0.
pub fn code_prefix(digits: &str) -> Option<u16> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3)
        .filter_map(|len| digits.get(..len))
        .filter_map(|prefix| prefix.parse().ok())
        .find(|code| regions(*code).is_some())
}

/// A region's metadata, by its id.
pub fn region(id: &str) -> Option<&'static Meta> {
    let code = REGION_CODES
        .binary_search_by_key(&id, |(r, _)| r)
        .ok()
        .map(|i| REGION_CODES[i].1)?;
    regions(code)?.iter().find(|meta| meta.id == id)
}
