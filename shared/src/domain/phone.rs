mod metadata;

use std::sync::Arc;

use phonenumber::PhoneNumber;
pub use phonenumber::country::Id as Region;
use phonenumber::metadata::Database;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Longest input worth handing to the parser: E.164 numbers have at most 15
/// digits, and this leaves room for spaces, dashes and brackets.
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
        let (database, number) = parse_split(input, default_region).ok_or(Error::InvalidPhone)?;
        if !phonenumber::is_valid_with(&database, &number) {
            return Err(Error::InvalidPhone);
        }
        Ok(Phone(e164(&number)))
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
        let (database, number) = parse_split(input, default_region).ok_or(Error::InvalidPhone)?;
        let national = number.national().to_string();
        let possible = database
            .by_code(&number.code().value())
            .into_iter()
            .flatten()
            .any(|meta| {
                // The general descriptor's lengths are left empty in the
                // metadata: the lengths are those of the kinds of number.
                let kinds = meta.descriptors();
                [
                    kinds.fixed_line(),
                    kinds.mobile(),
                    kinds.toll_free(),
                    kinds.premium_rate(),
                    kinds.shared_cost(),
                    kinds.personal_number(),
                    kinds.voip(),
                    kinds.pager(),
                    kinds.uan(),
                    kinds.voicemail(),
                ]
                .into_iter()
                .flatten()
                .chain([kinds.general()])
                .any(|kind| kind.possible_length().contains(&(national.len() as u16)))
            });
        // A valid number has a possible length; checked as well, so that
        // the rule reads as it is meant: valid, or possible.
        if possible || phonenumber::is_valid_with(&database, &number) {
            Ok(Phone(e164(&number)))
        } else {
            Err(Error::InvalidPhone)
        }
    }

    /// The ISO 3166-1 region libphonenumber assigns to this number.
    pub fn region(&self) -> Option<Region> {
        let (database, number) = parse_split(&self.0, None)?;
        number.metadata(&database)?.id().parse().ok()
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

/// Shortest national number worth parsing: no region has valid numbers of
/// two digits or fewer (a test holds the metadata to this).
const MIN_NATIONAL_DIGITS: usize = 3;

/// Parses `input` with a database of only the regions the parse can
/// consult: the calling code after a `+`; else the default region's, and
/// the one after that region's international prefix when the number starts
/// with it. A number with a `+` first, or none at all, goes to the parser
/// as an RFC 3966 `tel:` URI of its digits, which the parser reads exactly
/// as it reads the typed form, without compiling the Unicode patterns it
/// needs for free text (tens of milliseconds at a cold start); any other
/// shape (a `+` after a bracket, say) is parsed as typed.
fn parse_split(
    input: &str,
    default_region: Option<Region>,
) -> Option<(Arc<Database>, PhoneNumber)> {
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if input.starts_with('+') {
        let code = metadata::code_prefix(&digits)?;
        let national = &digits[code.to_string().len()..];
        if national.len() < MIN_NATIONAL_DIGITS {
            return None;
        }
        let database = metadata::for_codes(&[code]);
        let number =
            phonenumber::parse_with(&database, None, format!("tel:+{code}-{national}")).ok()?;
        return Some((database, number));
    }
    let region = default_region?;
    if digits.len() < MIN_NATIONAL_DIGITS {
        return None;
    }
    let home = metadata::region_code(region)?;
    let local = metadata::for_codes(&[home]);
    let mut codes = vec![home];
    let idd = local
        .by_id(region.as_ref())
        .and_then(|m| m.international_prefix())
        .and_then(|prefix| prefix.find(&digits))
        .filter(|m| m.start() == 0)
        .map(|m| &digits[m.end()..]);
    codes.extend(idd.and_then(metadata::code_prefix));
    let typed = match input.split_once('+') {
        None => format!("tel:{digits}"),
        Some((_, after)) => {
            // The parser reads a `+` after other characters as a calling code.
            let after: String = after.chars().filter(char::is_ascii_digit).collect();
            codes.extend(metadata::code_prefix(&after));
            input.to_owned()
        }
    };
    let database = if codes == [home] {
        local
    } else {
        metadata::for_codes(&codes)
    };
    let number = phonenumber::parse_with(&database, Some(region), typed).ok()?;
    Some((database, number))
}

/// E.164 as the crate's formatter writes it. Not through the formatter:
/// it loads the whole database even when given one (`unwrap_or(&DATABASE)`
/// forces its lazy static).
fn e164(number: &PhoneNumber) -> String {
    format!("+{}{}", number.code().value(), number.national())
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
