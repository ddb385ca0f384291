//! The verification SMS: the operator's template, and the lines that let a
//! phone fill the code in by itself (WebOTP in browsers, the SMS Retriever
//! on Android).

/// Today's text, the default of `SMS_TEMPLATE`.
pub const DEFAULT_TEMPLATE: &str =
    "Your verification code is {code}. It expires in {minutes} minutes.";

/// Characters in one SMS segment: GSM-7, and UCS-2 for anything else.
const GSM7_SEGMENT: usize = 160;
const UCS2_SEGMENT: usize = 70;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Code,
    Minutes,
    App,
}

/// A checked template: exactly one `{code}`, and no placeholder but
/// `{code}`, `{minutes}` and `{app}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsTemplate(Vec<Piece>);

impl SmsTemplate {
    pub fn parse(raw: &str) -> Result<SmsTemplate, String> {
        let mut pieces = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "a \"{\" is not closed".to_owned())?;
            pieces.push(match &after[..close] {
                "code" => Piece::Code,
                "minutes" => Piece::Minutes,
                "app" => Piece::App,
                other => {
                    return Err(format!(
                        "unknown placeholder {{{other}}} (known: {{code}}, {{minutes}}, {{app}})"
                    ));
                }
            });
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err("a \"}\" is not opened".into());
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        match pieces.iter().filter(|p| **p == Piece::Code).count() {
            1 => Ok(SmsTemplate(pieces)),
            0 => Err("has no {code}".into()),
            n => Err(format!("has {{code}} {n} times; once is right")),
        }
    }

    pub fn uses_app(&self) -> bool {
        self.0.contains(&Piece::App)
    }
}

/// Everything the text of a verification SMS is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsText {
    pub template: SmsTemplate,
    /// `SMS_APP_NAME`, for `{app}`.
    pub app_name: Option<String>,
    /// `WEBOTP_DOMAIN`: the last lines carry `@domain #code`.
    pub webotp_domain: Option<String>,
    /// `ANDROID_APP_HASH`: the text ends with it.
    pub android_app_hash: Option<String>,
}

impl Default for SmsText {
    fn default() -> SmsText {
        SmsText {
            template: SmsTemplate::parse(DEFAULT_TEMPLATE).expect("the default template is valid"),
            app_name: None,
            webotp_domain: None,
            android_app_hash: None,
        }
    }
}

impl SmsText {
    /// The message for `code`, valid for `minutes`.
    pub fn render(&self, code: &str, minutes: u64) -> String {
        let mut text = String::new();
        for piece in &self.template.0 {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Code => text.push_str(code),
                Piece::Minutes => text.push_str(&minutes.to_string()),
                Piece::App => text.push_str(self.app_name.as_deref().unwrap_or_default()),
            }
        }
        let mut autofill = Vec::new();
        if let Some(domain) = &self.webotp_domain {
            autofill.push(format!("@{domain} #{code}"));
        }
        if let Some(hash) = &self.android_app_hash {
            autofill.push(hash.clone());
        }
        if !autofill.is_empty() {
            text.push_str("\n\n");
            text.push_str(&autofill.join("\n"));
        }
        text
    }

    /// Why the longest text would not fit one SMS, if it would not: more
    /// than 160 GSM-7 characters, or any character outside GSM-7 (then a
    /// segment holds 70).
    pub fn fit_warning(&self, code_length: usize, minutes: u64) -> Option<String> {
        let text = self.render(&"9".repeat(code_length), minutes);
        let outside: String = text
            .chars()
            .filter(|c| gsm7_septets(*c).is_none())
            .collect();
        if !outside.is_empty() {
            let chars = text.chars().count();
            return Some(format!(
                "the SMS has characters outside GSM-7 ({outside:?}), so a segment holds \
                 {UCS2_SEGMENT}: {chars} characters, {} segment(s)",
                chars.div_ceil(UCS2_SEGMENT)
            ));
        }
        let septets: usize = text.chars().filter_map(gsm7_septets).sum();
        (septets > GSM7_SEGMENT).then(|| {
            format!(
                "the SMS is {septets} GSM-7 characters, more than one SMS ({GSM7_SEGMENT}): it is sent as {} segments",
                septets.div_ceil(153)
            )
        })
    }
}

/// Septets a character takes in GSM 03.38: 1 in the basic set, 2 in the
/// extension table, `None` outside both.
fn gsm7_septets(c: char) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "^{}\\[~]|€\u{000C}";
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(template: &str) -> SmsText {
        SmsText {
            template: SmsTemplate::parse(template).unwrap(),
            ..SmsText::default()
        }
    }

    #[test]
    fn the_default_text_is_today_s() {
        assert_eq!(
            SmsText::default().render("4821", 5),
            "Your verification code is 4821. It expires in 5 minutes."
        );
    }

    #[test]
    fn placeholders_are_checked() {
        assert!(SmsTemplate::parse("Code {code} for {app}, {minutes} min").is_ok());
        for (bad, why) in [
            ("no code here", "has no {code}"),
            ("{code} and {code}", "twice"),
            ("{code} {name}", "unknown placeholder {name}"),
            ("{code} {oops", "not closed"),
            ("{code} oops}", "not opened"),
        ] {
            let error = SmsTemplate::parse(bad).unwrap_err();
            assert!(
                error.contains(why) || (why == "twice" && error.contains("2 times")),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn autofill_lines_come_last_webotp_first() {
        let mut sms = text("{app}: {code}");
        sms.app_name = Some("Acme".into());
        assert_eq!(sms.render("1234", 5), "Acme: 1234");
        sms.webotp_domain = Some("example.com".into());
        assert_eq!(sms.render("1234", 5), "Acme: 1234\n\n@example.com #1234");
        sms.android_app_hash = Some("FA+9qCX9VSu".into());
        assert_eq!(
            sms.render("1234", 5),
            "Acme: 1234\n\n@example.com #1234\nFA+9qCX9VSu"
        );
        sms.webotp_domain = None;
        assert_eq!(sms.render("1234", 5), "Acme: 1234\n\nFA+9qCX9VSu");
    }

    #[test]
    fn warns_when_the_text_outgrows_one_sms() {
        assert_eq!(SmsText::default().fit_warning(8, 60), None);
        let long = text(&format!("{} {{code}}", "a".repeat(160)));
        assert!(
            long.fit_warning(4, 5)
                .unwrap()
                .contains("more than one SMS")
        );
        // Extension characters take two septets.
        let braces = text(&format!("{} {{code}}", "[".repeat(78)));
        assert!(braces.fit_warning(4, 5).unwrap().contains("161 GSM-7"));
        let cyrillic = text("Ваш код {code}");
        assert!(
            cyrillic
                .fit_warning(4, 5)
                .unwrap()
                .contains("outside GSM-7")
        );
    }
}
