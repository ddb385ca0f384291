#[cfg(test)]
mod compile;
mod metadata;
mod pattern;

pub use phonenumber::country::Id as Region;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use metadata::Meta;

/// Longest input worth reading: E.164 numbers have at most 15 digits, and
/// this leaves room for spaces, dashes and brackets.
const MAX_INPUT_CHARS: usize = 40;

/// A phone number that libphonenumber holds valid, in E.164 form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Reads a number as a user typed it. A number without a leading `+` is
    /// read in `default_region`, and refused when there is none.
    pub fn parse(input: &str, default_region: Option<Region>) -> Result<Phone, Error> {
        let input = well_formed(input)?;
        let number = read(input, default_region).ok_or(Error::InvalidPhone)?;
        if !number.is_valid() {
            return Err(Error::InvalidPhone);
        }
        Ok(Phone(number.e164()))
    }

    /// Reads a number the way `parse` does, but takes any number of a
    /// length the region's numbers can have, valid or not: what an import
    /// of another system's users keeps (its numbers were typed and used
    /// there, and a range reserved for drama, `+447700 900xxx`, is one
    /// libphonenumber holds possible and not valid). Refused: a number of
    /// no region's length, such as `+7000`, and any input `parse` refuses
    /// for its shape: a stray character must not reach a stored number,
    /// or the answer to it would tell who has that number.
    pub fn parse_possible(input: &str, default_region: Option<Region>) -> Result<Phone, Error> {
        let input = well_formed(input)?;
        let number = read(input, default_region).ok_or(Error::InvalidPhone)?;
        let length = number.national.len() as u16;
        // The general descriptor's lengths are left empty in the metadata:
        // the lengths are those of the kinds of number.
        let possible = metadata::regions(number.code)
            .into_iter()
            .flatten()
            .flat_map(|meta| meta.kinds.iter().chain([&meta.general]))
            .any(|kind| kind.lengths.contains(&length));
        // A valid number has a possible length; checked as well, so that
        // the rule reads as it is meant: valid, or possible.
        if possible || number.is_valid() {
            Ok(Phone(number.e164()))
        } else {
            Err(Error::InvalidPhone)
        }
    }

    /// The ISO 3166-1 region libphonenumber assigns to this number.
    pub fn region(&self) -> Option<Region> {
        let number = read(&self.0, None)?;
        source_for(number.code, number.national.trim_start_matches('0'))?
            .id
            .parse()
            .ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a phone from the store, where only valid numbers are written.
    pub fn from_trusted(e164: String) -> Phone {
        Phone(e164)
    }
}

/// The input, trimmed, when it has the shape of a number as people type
/// one: digits, `+`, spaces, dashes, brackets and dots, and not too long.
fn well_formed(input: &str) -> Result<&str, Error> {
    let input = input.trim();
    let shaped = !input.is_empty()
        && input.chars().count() <= MAX_INPUT_CHARS
        && input
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if shaped {
        Ok(input)
    } else {
        Err(Error::InvalidPhone)
    }
}

/// Shortest national number worth reading: no region has valid numbers of
/// two digits or fewer (a test holds the metadata to this).
const MIN_NATIONAL_DIGITS: usize = 3;

/// The `phonenumber` crate's bounds on a national number's length.
const MIN_NATIONAL_LENGTH: usize = 2;
const MAX_NATIONAL_LENGTH: usize = 17;

/// A number as read: its calling code and national number, digits only.
struct Number {
    code: u16,
    national: String,
}

impl Number {
    /// Valid as the `phonenumber` crate's `is_valid` holds it: the region
    /// the number belongs to has a kind of number it matches.
    fn is_valid(&self) -> bool {
        source_for(self.code, &self.national).is_some_and(|meta| known_kind(meta, &self.national))
    }

    fn e164(&self) -> String {
        format!("+{}{}", self.code, self.national)
    }
}

/// Reads a well-formed input as the `phonenumber` crate parses it, step
/// for step, with its metadata compiled (the equivalence test holds the
/// two together over every region's numbers). A number with a `+` first
/// is read as the crate reads a `tel:` URI, without a region; one with no
/// `+` is read in the default region; a `+` after other characters makes
/// the crate read free text, in which only punctuation may come before it
/// and no `+` after the first run of them.
fn read(input: &str, default_region: Option<Region>) -> Option<Number> {
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if input.starts_with('+') {
        let code = metadata::code_prefix(&digits)?;
        let national = &digits[code.to_string().len()..];
        if national.len() < MIN_NATIONAL_DIGITS {
            return None;
        }
        return national_part(None, code, national.to_owned());
    }
    let home = metadata::region(default_region?.as_ref())?;
    if digits.len() < MIN_NATIONAL_DIGITS {
        return None;
    }
    let after_idd = |national: &str| -> Option<usize> {
        let end = home.international_prefix?.captures(national)?.end();
        (!national[end..].starts_with('0')).then_some(end)
    };
    let (code, national) = match input.split_once('+') {
        Some((before, after)) => {
            let after = after.trim_start_matches('+');
            if before.contains(|c: char| c.is_ascii_digit()) || after.contains('+') {
                return None;
            }
            // After a `+`, the region's international prefix is skipped
            // as well.
            let national = &digits[after_idd(&digits).unwrap_or(0)..];
            calling_code(national)?
        }
        None => match after_idd(&digits) {
            Some(end) => calling_code(&digits[end..])?,
            None => {
                let code = home.code.to_string();
                let national = match digits.strip_prefix(&code) {
                    Some(rest)
                        if !home.general.is_match(&digits)
                            || !matches!(length(home, &digits), Length::Possible) =>
                    {
                        rest
                    }
                    _ => &digits,
                };
                (home.code, national.to_owned())
            }
        },
    };
    national_part(Some(home), code, national)
}

/// The calling code a national number starts with, and what follows it.
fn calling_code(national: &str) -> Option<(u16, String)> {
    if national.len() <= MIN_NATIONAL_LENGTH {
        return None;
    }
    let code = metadata::code_prefix(national)?;
    Some((code, national[code.to_string().len()..].to_owned()))
}

/// The national number as the parse keeps it: its national prefix (and
/// carrier code) taken off, as the region of the input's rules say, the
/// default region's when one was given, as the crate does.
fn national_part(region: Option<&Meta>, code: u16, mut national: String) -> Option<Number> {
    let meta = region.or_else(|| source_for(code, national.trim_start_matches('0')));
    if let Some(meta) = meta {
        let mut potential = strip_national_prefix(meta, &national);
        if let Some(rest) = meta
            .national_prefix
            .and_then(|prefix| potential.strip_prefix(prefix))
        {
            potential = rest.to_owned();
        }
        if !matches!(length(meta, &potential), Length::TooShort) {
            national = potential;
        }
    }
    if !(MIN_NATIONAL_LENGTH..=MAX_NATIONAL_LENGTH).contains(&national.len()) {
        return None;
    }
    // The crate keeps the leading zeros apart and the rest as an integer
    // of at most 56 bits.
    let value: u64 = national.trim_start_matches('0').parse().ok()?;
    (value < 1 << 56).then_some(Number { code, national })
}

/// The crate's `helper::national_number`.
fn strip_national_prefix(meta: &Meta, national: &str) -> String {
    let Some(parsing) = meta.prefix_for_parsing else {
        let prefix = meta.national_prefix.unwrap_or_default();
        return national.strip_prefix(prefix).unwrap_or(national).to_owned();
    };
    let Some(captures) = parsing.captures(national) else {
        return national.to_owned();
    };
    let end = captures.end();
    // The last group (the whole match when there is none) must take part
    // for the transform rule to apply.
    let last = captures.group(national, usize::from(parsing.groups) - 1);
    match &meta.transform {
        Some(rule) if last.is_some() => {
            let group = captures
                .group(national, usize::from(rule.group))
                .unwrap_or_default();
            let transformed = format!("{}{group}{}", rule.literal, &national[end..]);
            if meta.general.is_match(national) && !meta.general.is_match(&transformed) {
                national.to_owned()
            } else {
                transformed
            }
        }
        _ => national[end..].to_owned(),
    }
}

enum Length {
    Possible,
    TooShort,
    Other,
}

/// The crate's `validator::length` for any kind of number.
fn length(meta: &Meta, national: &str) -> Length {
    let possible = meta.general.lengths;
    let Some(&minimum) = possible.first() else {
        return Length::Other;
    };
    let length = national.len() as u16;
    if meta.general.local_lengths.contains(&length) || possible.contains(&length) {
        Length::Possible
    } else if length < minimum {
        Length::TooShort
    } else {
        Length::Other
    }
}

/// The region (or non-geographic entity) a national number of `code`
/// belongs to: the crate's `validator::source_for`.
fn source_for(code: u16, national: &str) -> Option<&'static Meta> {
    match metadata::regions(code)? {
        [only] => Some(only),
        regions => regions.iter().find(|meta| match meta.leading_digits {
            Some(leading) => leading.matches_start(national),
            None => known_kind(meta, national),
        }),
    }
}

/// Whether the crate's `number_type` is other than `Unknown`.
fn known_kind(meta: &Meta, national: &str) -> bool {
    meta.general.is_match(national) && meta.kinds.iter().any(|kind| kind.is_match(national))
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::Mode;
    use phonenumber::metadata::DATABASE;

    /// What the whole database says of an input, as this type read it
    /// before the metadata was split: E.164 and region, or refused.
    fn whole_database(input: &str, region: Option<Region>) -> Option<(String, Option<Region>)> {
        let number = phonenumber::parse(region, input).ok()?;
        if !phonenumber::is_valid(&number) {
            return None;
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        let region = phonenumber::parse(None, &e164).ok()?.country().id();
        Some((e164, region))
    }

    fn split_metadata(input: &str, region: Option<Region>) -> Option<(String, Option<Region>)> {
        let phone = Phone::parse(input, region).ok()?;
        let region = phone.region();
        Some((phone.0, region))
    }

    /// Inputs of every shape, for every region's example numbers: with a
    /// `+`, national in their own region and in others, after another
    /// region's international prefix, with a `+` inside, and random digits.
    fn corpus() -> Vec<(String, Option<Region>)> {
        let regions =
            |ids: &[&str]| -> Vec<Region> { ids.iter().map(|id| id.parse().unwrap()).collect() };
        let elsewhere = regions(&["RU", "GB", "US", "IT"]);
        let dialling_out = [("RU", "810"), ("GB", "00"), ("US", "011"), ("AU", "0011")];
        let mut inputs = Vec::new();
        for code in 1..=999u16 {
            let Some(entries) = DATABASE.by_code(&code) else {
                continue;
            };
            for meta in entries {
                let own: Option<Region> = meta.id().parse().ok();
                let d = meta.descriptors();
                let examples: Vec<&str> = [
                    Some(d.general()),
                    d.fixed_line(),
                    d.mobile(),
                    d.toll_free(),
                    d.premium_rate(),
                    d.voip(),
                    d.uan(),
                ]
                .into_iter()
                .flatten()
                .filter_map(|desc| desc.example())
                .collect();
                for (i, example) in examples.iter().enumerate() {
                    inputs.push((format!("+{code}{example}"), None));
                    inputs.push((format!("+{code} ({example})"), None));
                    inputs.push((format!("+{code}0{example}"), None));
                    if let Some(own) = own {
                        inputs.push((example.to_string(), Some(own)));
                        if let Some(prefix) = meta.national_prefix() {
                            inputs.push((format!("{prefix}{example}"), Some(own)));
                        }
                        inputs.push((format!("{code}{example}"), Some(own)));
                    }
                    for other in &elsewhere {
                        inputs.push((example.to_string(), Some(*other)));
                    }
                    if i == 0 {
                        for (from, idd) in dialling_out {
                            let from = from.parse().ok();
                            inputs.push((format!("{idd}{code}{example}"), from));
                            inputs.push((format!("{idd} {code} {example}"), from));
                        }
                        inputs.push((format!("8 (+{code}) {example}"), elsewhere.first().copied()));
                        // Free text: a `+` after a bracket, and after
                        // one, the dialling region's international prefix.
                        for (from, idd) in dialling_out {
                            let from = from.parse().ok();
                            inputs.push((format!("(+{code}) {example}"), from));
                            inputs.push((format!("(+{idd}) {code} {example}"), from));
                        }
                    }
                }
            }
        }
        // Random digit runs, from a fixed seed.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let len = 4 + (next() % 13) as usize;
            let digits: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let region = elsewhere[(next() % 4) as usize];
            match next() % 3 {
                0 => inputs.push((format!("+{digits}"), None)),
                1 => inputs.push((digits, Some(region))),
                _ => inputs.push((
                    format!("{}{digits}", dialling_out[(next() % 4) as usize].1),
                    Some(region),
                )),
            }
        }
        inputs
    }

    #[test]
    fn no_region_has_valid_numbers_of_two_digits() {
        for code in 1..=999u16 {
            for meta in DATABASE.by_code(&code).unwrap_or_default() {
                let lengths = meta.descriptors().general().possible_length();
                assert!(
                    lengths.iter().all(|l| *l as usize >= MIN_NATIONAL_DIGITS),
                    "{}: {lengths:?}",
                    meta.id()
                );
            }
        }
    }

    #[test]
    fn reads_every_number_as_the_whole_database_does() {
        let corpus = corpus();
        assert!(corpus.len() > 10_000, "{} inputs", corpus.len());
        let mut accepted = 0;
        for (input, region) in &corpus {
            let want = whole_database(input, *region);
            accepted += usize::from(want.is_some());
            assert_eq!(
                split_metadata(input, *region),
                want,
                "{input:?} in {region:?}"
            );
        }
        // The corpus is not all refusals.
        assert!(
            accepted > corpus.len() / 4,
            "{accepted} of {} valid",
            corpus.len()
        );
    }

    #[test]
    fn normalises_to_e164() {
        let phone = Phone::parse("+7 (912) 345-67-89", None).unwrap();
        assert_eq!(phone.as_str(), "+79123456789");
        assert_eq!(phone.region(), Some(Region::RU));
    }

    #[test]
    fn reads_national_numbers_in_the_default_region_only() {
        assert!(matches!(
            Phone::parse("89123456789", None),
            Err(Error::InvalidPhone)
        ));
        let phone = Phone::parse("8 912 345 67 89", Some(Region::RU)).unwrap();
        assert_eq!(phone.as_str(), "+79123456789");
        let gb = Phone::parse("07400 123456", Some(Region::GB)).unwrap();
        assert_eq!(gb.as_str(), "+447400123456");
        assert_eq!(gb.region(), Some(Region::GB));
    }

    #[test]
    fn an_import_keeps_possible_numbers_and_refuses_impossible_ones() {
        let drama = "+447700900123";
        assert!(Phone::parse(drama, None).is_err(), "not valid");
        assert_eq!(Phone::parse_possible(drama, None).unwrap().as_str(), drama);
        for (typed, e164) in [
            ("89161234567", "+79161234567"),
            ("+7 916 123-45-67", "+79161234567"),
            ("+79161234567", "+79161234567"),
        ] {
            assert_eq!(
                Phone::parse_possible(typed, Some(Region::RU))
                    .unwrap()
                    .as_str(),
                e164
            );
        }
        for impossible in ["+7000", "+447700", "", "12"] {
            assert!(
                Phone::parse_possible(impossible, Some(Region::RU)).is_err(),
                "{impossible:?}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_valid_number() {
        for bad in [
            "",
            "   ",
            "+",
            "+1",
            "+7912",
            "hello",
            "+7912345678999999",
            "+0000000000",
        ] {
            assert!(
                matches!(Phone::parse(bad, None), Err(Error::InvalidPhone)),
                "{bad:?} was accepted"
            );
        }
        let long = format!("+7{}", "1".repeat(100));
        assert!(matches!(
            Phone::parse(&long, None),
            Err(Error::InvalidPhone)
        ));
    }
}
