//! Numbers for app-store review: reviewers get a phone number, not a SIM.
//! `TEST_PHONE_CODES` lists numbers with fixed codes; until
//! `TEST_PHONE_CODES_UNTIL` a listed number gets its listed code, no SMS,
//! and spends no shared budget. After it, the numbers are ordinary again.
//! A listed code never changes, so it has at least 6 digits whatever
//! `CODE_LENGTH` is, and its wrong tries add up across sends.

use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;

/// How long a listed code may be: at least NIST's 6 digits.
const LISTED_CODE_DIGITS: std::ops::RangeInclusive<usize> = 6..=12;

#[derive(Clone, Default)]
pub struct TestPhones {
    entries: Vec<(Phone, String)>,
    until: Option<Timestamp>,
}

/// The numbers and the date, never the codes.
impl std::fmt::Debug for TestPhones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let numbers: Vec<&str> = self.entries.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("TestPhones")
            .field("numbers", &numbers)
            .field("until", &self.until.map(Timestamp::rfc3339))
            .finish()
    }
}

impl TestPhones {
    /// Reads `+15555550100=424242,+447700900001=123456` and the RFC 3339
    /// time it lapses at, which the list requires. A number is written in
    /// E.164; one libphonenumber does not hold valid (the 555 range, say) is
    /// taken as written. Each code has 6 to 12 digits.
    pub fn parse(list: &str, until: Option<&str>) -> Result<TestPhones, String> {
        let mut entries: Vec<(Phone, String)> = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((number, code)) = entry.split_once('=') else {
                return Err("expected +NUMBER=CODE entries such as +15555550100=424242".into());
            };
            let (number, code) = (number.trim(), code.trim());
            let phone = e164(number).ok_or_else(|| {
                format!("{number:?} is not a number in E.164 form (+ and 8 to 15 digits)")
            })?;
            if !LISTED_CODE_DIGITS.contains(&code.len())
                || !code.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!(
                    "the code of {number} must be 6 to 12 digits: it never changes, so a short one falls to guessing"
                ));
            }
            if entries.iter().any(|(listed, _)| *listed == phone) {
                return Err(format!("{number} is listed twice"));
            }
            entries.push((phone, code.to_owned()));
        }
        if entries.is_empty() {
            return Ok(TestPhones::default());
        }
        let until = until
            .filter(|u| !u.trim().is_empty())
            .ok_or("TEST_PHONE_CODES_UNTIL is required with TEST_PHONE_CODES")?;
        let until = Timestamp::parse_rfc3339(until).ok_or_else(|| {
            format!("TEST_PHONE_CODES_UNTIL: expected an RFC 3339 time such as 2027-03-01T00:00:00Z, got {until:?}")
        })?;
        Ok(TestPhones {
            entries,
            until: Some(until),
        })
    }

    fn active(&self, now: Timestamp) -> bool {
        self.until.is_some_and(|until| now < until)
    }

    /// The listed code of `phone`, while the list holds.
    pub fn code_for(&self, phone: &Phone, now: Timestamp) -> Option<&str> {
        if !self.active(now) {
            return None;
        }
        self.entries
            .iter()
            .find(|(listed, _)| listed == phone)
            .map(|(_, code)| code.as_str())
    }

    /// When `phone`'s listed code lapses (or lapsed), if it is listed at
    /// all: a code sent before then logs no one in after it.
    pub fn listed_until(&self, phone: &Phone) -> Option<Timestamp> {
        self.until
            .filter(|_| self.entries.iter().any(|(listed, _)| listed == phone))
    }

    pub fn is_test(&self, phone: &Phone, now: Timestamp) -> bool {
        self.code_for(phone, now).is_some()
    }

    /// A listed number as typed (spaces, dashes, brackets and dots allowed
    /// between its digits), while the list holds: for numbers the phone
    /// parser refuses.
    pub fn lookup(&self, input: &str, now: Timestamp) -> Option<Phone> {
        if !self.active(now) {
            return None;
        }
        let compact: String = input.chars().filter(|c| !" -().".contains(*c)).collect();
        self.entries
            .iter()
            .find(|(listed, _)| listed.as_str() == compact)
            .map(|(listed, _)| listed.clone())
    }

    /// Set, and past its date: worth a warning at start-up.
    pub fn lapsed_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.until.filter(|until| *until <= now)
    }
}

/// `+` and 8 to 15 digits; in libphonenumber's E.164 form when it holds the
/// number valid.
fn e164(number: &str) -> Option<Phone> {
    let digits = number.strip_prefix('+')?;
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Phone::parse(number, None).unwrap_or_else(|_| Phone::from_trusted(number.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTIL: &str = "2027-03-01T00:00:00Z";

    fn phones() -> TestPhones {
        TestPhones::parse("+15555550100=424242, +447700900001=123456", Some(UNTIL)).unwrap()
    }

    #[test]
    fn listed_numbers_have_their_codes_until_the_date() {
        let phones = phones();
        let until = Timestamp::parse_rfc3339(UNTIL).unwrap();
        let before = Timestamp(until.0 - 1);
        let listed = Phone::from_trusted("+15555550100".into());
        assert_eq!(phones.code_for(&listed, before), Some("424242"));
        assert_eq!(phones.listed_until(&listed), Some(until));
        assert_eq!(
            phones.listed_until(&Phone::from_trusted("+15555550101".into())),
            None
        );
        assert_eq!(phones.code_for(&listed, until), None);
        assert_eq!(
            phones.lookup("+1 555-555 (0100)", before),
            Some(listed.clone())
        );
        assert_eq!(phones.lookup("+15555550101", before), None);
        assert_eq!(phones.lookup("+15555550100", until), None);
        assert_eq!(phones.lapsed_at(before), None);
        assert_eq!(phones.lapsed_at(until), Some(until));
        let debug = format!("{phones:?}");
        assert!(
            debug.contains("+15555550100") && !debug.contains("424242"),
            "{debug}"
        );
    }

    #[test]
    fn a_bad_list_is_refused_with_what_is_wrong() {
        let cases = [
            ("+15555550100", Some(UNTIL), "+NUMBER=CODE"),
            ("15555550100=424242", Some(UNTIL), "E.164"),
            ("+1555=424242", Some(UNTIL), "E.164"),
            ("+15555550100=4242", Some(UNTIL), "6 to 12 digits"),
            ("+15555550100=abcdef", Some(UNTIL), "6 to 12 digits"),
            ("+15555550100=4242424242424", Some(UNTIL), "6 to 12 digits"),
            (
                "+15555550100=424242,+15555550100=111111",
                Some(UNTIL),
                "twice",
            ),
            ("+15555550100=424242", None, "required"),
            ("+15555550100=424242", Some("next spring"), "RFC 3339"),
        ];
        for (list, until, expected) in cases {
            let error = TestPhones::parse(list, until).unwrap_err();
            assert!(error.contains(expected), "{list}: {error}");
        }
        assert!(
            TestPhones::parse("", None)
                .unwrap()
                .lapsed_at(Timestamp(0))
                .is_none()
        );
    }
}
