//! The verification SMS: the operator's template, and the lines that let a
//! phone fill the code in by itself (WebOTP in browsers, the SMS Retriever
//! on Android).

/// Today's text, the default of `SMS_TEMPLATE`.
pub const DEFAULT_TEMPLATE: &str =
    "Your verification code is {code}. It expires in {minutes} minutes.";

use crate::domain::language::{accepted, language_of, main_language};
use crate::domain::phone::Region;

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
    /// `SMS_TEMPLATE`: the text when no other language fits.
    pub template: SmsTemplate,
    /// `SMS_TEMPLATE_LOCALE`: the language `template` is written in.
    pub locale: String,
    /// `SMS_TEMPLATES`: a template per language tag, as written.
    pub templates: Vec<(String, SmsTemplate)>,
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
            locale: DEFAULT_LOCALE.into(),
            templates: Vec::new(),
            app_name: None,
            webotp_domain: None,
            android_app_hash: None,
        }
    }
}

/// The language of the default template's text.
pub const DEFAULT_LOCALE: &str = "en";

/// What a request says of the language its reader wants.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wanted<'a> {
    /// The request's `locale`: a BCP 47 tag.
    pub locale: Option<&'a str>,
    /// The request's `Accept-Language` header.
    pub accept_language: Option<&'a str>,
    /// The number's region, whose main language comes next.
    pub region: Option<Region>,
}

/// A template and the tag it is kept under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Language<'a> {
    pub locale: &'a str,
    template: &'a SmsTemplate,
}

impl SmsText {
    /// Every template with its tag, the default's last.
    fn languages(&self) -> impl Iterator<Item = Language<'_>> {
        self.templates
            .iter()
            .map(|(locale, template)| Language { locale, template })
            .chain([self.default_language()])
    }

    /// `SMS_TEMPLATE`, in `SMS_TEMPLATE_LOCALE`.
    fn default_language(&self) -> Language<'_> {
        Language {
            locale: &self.locale,
            template: &self.template,
        }
    }

    /// The template for `tag`: its own, else its language's (`pt-BR`
    /// uses `pt`).
    fn find(&self, tag: &str) -> Option<Language<'_>> {
        self.languages()
            .find(|l| l.locale.eq_ignore_ascii_case(tag))
            .or_else(|| {
                let language = language_of(tag);
                self.languages()
                    .find(|l| l.locale.eq_ignore_ascii_case(&language))
            })
    }

    /// The request's `locale`, else the first accepted language that has
    /// a template, else the region's main language where one has it,
    /// else `SMS_TEMPLATE`.
    pub fn choose(&self, wanted: &Wanted<'_>) -> Language<'_> {
        let accepted = wanted.accept_language.map(accepted).unwrap_or_default();
        let region = wanted.region.and_then(main_language);
        wanted
            .locale
            .into_iter()
            .chain(accepted)
            .chain(region)
            .find_map(|tag| self.find(tag))
            .unwrap_or_else(|| self.default_language())
    }

    /// The message for `code`, valid for `minutes`, in `language`.
    pub fn render(&self, language: Language<'_>, code: &str, minutes: u64) -> String {
        let mut text = String::new();
        for piece in &language.template.0 {
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

    /// The message in the default template.
    pub fn render_default(&self, code: &str, minutes: u64) -> String {
        self.render(self.default_language(), code, minutes)
    }

    /// Why each template's longest text would not fit one SMS, for those
    /// that would not, with the template's tag.
    pub fn fit_warnings(&self, code_length: usize, minutes: u64) -> Vec<String> {
        self.languages()
            .filter_map(|language| {
                let text = self.render(language, &"9".repeat(code_length), minutes);
                fit_warning(&text).map(|why| format!("the {} template: {why}", language.locale))
            })
            .collect()
    }
}

/// Why `text` would not fit one SMS, if it would not: more than 160 GSM-7
/// characters, or any character outside GSM-7 (then a segment holds 70).
fn fit_warning(text: &str) -> Option<String> {
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
            SmsText::default().render_default("4821", 5),
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
        assert_eq!(sms.render_default("1234", 5), "Acme: 1234");
        sms.webotp_domain = Some("example.com".into());
        assert_eq!(
            sms.render_default("1234", 5),
            "Acme: 1234\n\n@example.com #1234"
        );
        sms.android_app_hash = Some("FA+9qCX9VSu".into());
        assert_eq!(
            sms.render_default("1234", 5),
            "Acme: 1234\n\n@example.com #1234\nFA+9qCX9VSu"
        );
        sms.webotp_domain = None;
        assert_eq!(sms.render_default("1234", 5), "Acme: 1234\n\nFA+9qCX9VSu");
    }

    #[test]
    fn warns_when_the_text_outgrows_one_sms() {
        assert!(SmsText::default().fit_warnings(8, 60).is_empty());
        let long = text(&format!("{} {{code}}", "a".repeat(160)));
        assert!(long.fit_warnings(4, 5)[0].contains("the en template: the SMS is"));
        // Extension characters take two septets.
        let braces = text(&format!("{} {{code}}", "[".repeat(78)));
        assert!(braces.fit_warnings(4, 5)[0].contains("161 GSM-7"));
        let cyrillic = text("Ваш код {code}");
        assert!(cyrillic.fit_warnings(4, 5)[0].contains("outside GSM-7"));
    }

    fn in_languages(templates: &[(&str, &str)]) -> SmsText {
        SmsText {
            templates: templates
                .iter()
                .map(|(tag, t)| (tag.to_string(), SmsTemplate::parse(t).unwrap()))
                .collect(),
            ..SmsText::default()
        }
    }

    fn chosen(sms: &SmsText, wanted: Wanted<'_>) -> String {
        sms.choose(&wanted).locale.to_owned()
    }

    #[test]
    fn the_language_comes_from_the_request_then_the_header_then_the_region() {
        let sms = in_languages(&[
            ("ru", "Код {code}"),
            ("pt", "Código {code}"),
            ("es", "{code}"),
        ]);
        let br = Some("BR".parse().unwrap());
        let ru = Some("RU".parse().unwrap());
        let wanted = |locale, accept_language, region| Wanted {
            locale,
            accept_language,
            region,
        };
        // Each source in turn, the ones before it missing or without a template.
        assert_eq!(chosen(&sms, wanted(Some("es"), Some("ru"), br)), "es");
        assert_eq!(
            chosen(&sms, wanted(Some("fr"), Some("de, ru;q=0.9"), br)),
            "ru"
        );
        assert_eq!(chosen(&sms, wanted(Some("fr"), Some("de"), br)), "pt");
        assert_eq!(chosen(&sms, wanted(Some("fr"), Some("de"), None)), "en");
        assert_eq!(
            chosen(&sms, wanted(None, None, Some("US".parse().unwrap()))),
            "en"
        );
        // A tag with a region uses its language's template.
        assert_eq!(chosen(&sms, wanted(Some("pt-BR"), None, ru)), "pt");
        assert_eq!(
            chosen(&sms, wanted(None, Some("es-419,en;q=0.5"), ru)),
            "es"
        );
        // The default template's own language counts as having a template.
        assert_eq!(chosen(&sms, wanted(Some("en-GB"), None, ru)), "en");
        // A tag's own template comes before its language's; case is ignored.
        let sms = in_languages(&[("pt", "Código {code}"), ("pt-BR", "Seu código {code}")]);
        assert_eq!(chosen(&sms, wanted(Some("PT-br"), None, None)), "pt-BR");
        assert_eq!(chosen(&sms, wanted(Some("pt-PT"), None, None)), "pt");
        let text = sms.render(sms.choose(&wanted(Some("pt-BR"), None, None)), "1234", 5);
        assert_eq!(text, "Seu código 1234");
    }

    #[test]
    fn each_template_is_warned_of_by_its_tag() {
        let sms = in_languages(&[("ru", "Ваш код {code}"), ("de", "Ihr Code {code}")]);
        let warnings = sms.fit_warnings(6, 5);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("the ru template: the SMS has characters outside GSM-7"));
    }
}
