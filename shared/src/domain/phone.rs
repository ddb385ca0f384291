use phonenumber::country::Id as Region;
use phonenumber::{Mode, PhoneNumber};
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
        let input = input.trim();
        if input.is_empty()
            || input.chars().count() > MAX_INPUT_CHARS
            || !input
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            return Err(Error::InvalidPhone);
        }
        let region = if input.starts_with('+') {
            None
        } else {
            Some(default_region.ok_or(Error::InvalidPhone)?)
        };
        let number = phonenumber::parse(region, input).map_err(|_| Error::InvalidPhone)?;
        if !phonenumber::is_valid(&number) {
            return Err(Error::InvalidPhone);
        }
        Ok(Phone(e164(&number)))
    }

    /// The ISO 3166-1 region libphonenumber assigns to this number.
    pub fn region(&self) -> Option<Region> {
        phonenumber::parse(None, &self.0)
            .ok()
            .and_then(|number| number.country().id())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a phone from the store, where only valid numbers are written.
    pub fn from_trusted(e164: String) -> Phone {
        Phone(e164)
    }
}

fn e164(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
