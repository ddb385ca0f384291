//! Which language a code's text is in: BCP 47 tags as a request or its
//! `Accept-Language` gives them, and the main language of a number's region.

use crate::domain::phone::Region;

/// A BCP 47 tag's shape: a 2 or 3 letter language, then subtags of 1 to 8
/// letters and digits (`pt-BR`, `zh-Hant-TW`, `es-419`).
pub fn is_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    tag.len() <= 35
        && (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A tag's language subtag, lower case (`pt-BR` -> `pt`).
pub fn language_of(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The tags of an `Accept-Language` header, most wanted first (ties in
/// the order given); `*`, `q=0` and malformed entries are left out.
pub fn accepted(header: &str) -> Vec<&str> {
    let mut tags: Vec<(&str, f32)> = header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let tag = parts.next()?;
            let mut q = 1.0;
            for parameter in parts {
                if let Some(value) = parameter.strip_prefix("q=") {
                    q = value.parse().ok().filter(|q| (0.0..=1.0).contains(q))?;
                }
            }
            (is_tag(tag) && q > 0.0).then_some((tag, q))
        })
        .take(32)
        .collect();
    // Stable: equal weights keep the header's order.
    tags.sort_by(|a, b| b.1.total_cmp(&a.1));
    tags.into_iter().map(|(tag, _)| tag).collect()
}

/// The language most of a region's people read, as an operator would
/// write a template for it: the official or main language (CLDR's likely
/// language, with the official one where CLDR names a local language few
/// services translate into). `None` for regions not listed.
pub fn main_language(region: Region) -> Option<&'static str> {
    let code: &str = region.as_ref();
    MAIN_LANGUAGES
        .binary_search_by(|(r, _)| (*r).cmp(code))
        .ok()
        .map(|i| MAIN_LANGUAGES[i].1)
}

/// Sorted by region, for the binary search.
const MAIN_LANGUAGES: &[(&str, &str)] = &[
    ("AC", "en"),
    ("AD", "ca"),
    ("AE", "ar"),
    ("AF", "fa"),
    ("AG", "en"),
    ("AI", "en"),
    ("AL", "sq"),
    ("AM", "hy"),
    ("AO", "pt"),
    ("AR", "es"),
    ("AS", "en"),
    ("AT", "de"),
    ("AU", "en"),
    ("AW", "nl"),
    ("AX", "sv"),
    ("AZ", "az"),
    ("BA", "bs"),
    ("BB", "en"),
    ("BD", "bn"),
    ("BE", "nl"),
    ("BF", "fr"),
    ("BG", "bg"),
    ("BH", "ar"),
    ("BI", "fr"),
    ("BJ", "fr"),
    ("BL", "fr"),
    ("BM", "en"),
    ("BN", "ms"),
    ("BO", "es"),
    ("BQ", "nl"),
    ("BR", "pt"),
    ("BS", "en"),
    ("BT", "dz"),
    ("BW", "en"),
    ("BY", "ru"),
    ("BZ", "en"),
    ("CA", "en"),
    ("CC", "en"),
    ("CD", "fr"),
    ("CF", "fr"),
    ("CG", "fr"),
    ("CH", "de"),
    ("CI", "fr"),
    ("CK", "en"),
    ("CL", "es"),
    ("CM", "fr"),
    ("CN", "zh"),
    ("CO", "es"),
    ("CR", "es"),
    ("CU", "es"),
    ("CV", "pt"),
    ("CW", "nl"),
    ("CX", "en"),
    ("CY", "el"),
    ("CZ", "cs"),
    ("DE", "de"),
    ("DJ", "fr"),
    ("DK", "da"),
    ("DM", "en"),
    ("DO", "es"),
    ("DZ", "ar"),
    ("EC", "es"),
    ("EE", "et"),
    ("EG", "ar"),
    ("EH", "ar"),
    ("ER", "ti"),
    ("ES", "es"),
    ("ET", "am"),
    ("FI", "fi"),
    ("FJ", "en"),
    ("FK", "en"),
    ("FM", "en"),
    ("FO", "fo"),
    ("FR", "fr"),
    ("GA", "fr"),
    ("GB", "en"),
    ("GD", "en"),
    ("GE", "ka"),
    ("GF", "fr"),
    ("GG", "en"),
    ("GH", "en"),
    ("GI", "en"),
    ("GL", "kl"),
    ("GM", "en"),
    ("GN", "fr"),
    ("GP", "fr"),
    ("GQ", "es"),
    ("GR", "el"),
    ("GT", "es"),
    ("GU", "en"),
    ("GW", "pt"),
    ("GY", "en"),
    ("HK", "zh"),
    ("HN", "es"),
    ("HR", "hr"),
    ("HT", "ht"),
    ("HU", "hu"),
    ("ID", "id"),
    ("IE", "en"),
    ("IL", "he"),
    ("IM", "en"),
    ("IN", "hi"),
    ("IO", "en"),
    ("IQ", "ar"),
    ("IR", "fa"),
    ("IS", "is"),
    ("IT", "it"),
    ("JE", "en"),
    ("JM", "en"),
    ("JO", "ar"),
    ("JP", "ja"),
    ("KE", "sw"),
    ("KG", "ky"),
    ("KH", "km"),
    ("KI", "en"),
    ("KM", "ar"),
    ("KN", "en"),
    ("KP", "ko"),
    ("KR", "ko"),
    ("KW", "ar"),
    ("KY", "en"),
    ("KZ", "kk"),
    ("LA", "lo"),
    ("LB", "ar"),
    ("LC", "en"),
    ("LI", "de"),
    ("LK", "si"),
    ("LR", "en"),
    ("LS", "en"),
    ("LT", "lt"),
    ("LU", "fr"),
    ("LV", "lv"),
    ("LY", "ar"),
    ("MA", "ar"),
    ("MC", "fr"),
    ("MD", "ro"),
    ("ME", "sr"),
    ("MF", "fr"),
    ("MG", "mg"),
    ("MH", "en"),
    ("MK", "mk"),
    ("ML", "fr"),
    ("MM", "my"),
    ("MN", "mn"),
    ("MO", "zh"),
    ("MP", "en"),
    ("MQ", "fr"),
    ("MR", "ar"),
    ("MS", "en"),
    ("MT", "mt"),
    ("MU", "en"),
    ("MV", "dv"),
    ("MW", "en"),
    ("MX", "es"),
    ("MY", "ms"),
    ("MZ", "pt"),
    ("NA", "en"),
    ("NC", "fr"),
    ("NE", "fr"),
    ("NF", "en"),
    ("NG", "en"),
    ("NI", "es"),
    ("NL", "nl"),
    ("NO", "nb"),
    ("NP", "ne"),
    ("NR", "en"),
    ("NU", "en"),
    ("NZ", "en"),
    ("OM", "ar"),
    ("PA", "es"),
    ("PE", "es"),
    ("PF", "fr"),
    ("PG", "en"),
    ("PH", "fil"),
    ("PK", "ur"),
    ("PL", "pl"),
    ("PM", "fr"),
    ("PR", "es"),
    ("PS", "ar"),
    ("PT", "pt"),
    ("PW", "en"),
    ("PY", "es"),
    ("QA", "ar"),
    ("RE", "fr"),
    ("RO", "ro"),
    ("RS", "sr"),
    ("RU", "ru"),
    ("RW", "rw"),
    ("SA", "ar"),
    ("SB", "en"),
    ("SC", "fr"),
    ("SD", "ar"),
    ("SE", "sv"),
    ("SG", "en"),
    ("SH", "en"),
    ("SI", "sl"),
    ("SJ", "nb"),
    ("SK", "sk"),
    ("SL", "en"),
    ("SM", "it"),
    ("SN", "fr"),
    ("SO", "so"),
    ("SR", "nl"),
    ("SS", "en"),
    ("ST", "pt"),
    ("SV", "es"),
    ("SX", "en"),
    ("SY", "ar"),
    ("SZ", "en"),
    ("TA", "en"),
    ("TC", "en"),
    ("TD", "fr"),
    ("TG", "fr"),
    ("TH", "th"),
    ("TJ", "tg"),
    ("TK", "en"),
    ("TL", "pt"),
    ("TM", "tk"),
    ("TN", "ar"),
    ("TO", "to"),
    ("TR", "tr"),
    ("TT", "en"),
    ("TV", "en"),
    ("TW", "zh"),
    ("TZ", "sw"),
    ("UA", "uk"),
    ("UG", "en"),
    ("US", "en"),
    ("UY", "es"),
    ("UZ", "uz"),
    ("VA", "it"),
    ("VC", "en"),
    ("VE", "es"),
    ("VG", "en"),
    ("VI", "en"),
    ("VN", "vi"),
    ("VU", "bi"),
    ("WF", "fr"),
    ("WS", "sm"),
    ("XK", "sq"),
    ("YE", "ar"),
    ("YT", "fr"),
    ("ZA", "en"),
    ("ZM", "en"),
    ("ZW", "en"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_covers_every_region_numbers_have() {
        assert!(MAIN_LANGUAGES.windows(2).all(|w| w[0].0 < w[1].0));
        // Every region libphonenumber has a mobile number for.
        use phonenumber::metadata::DATABASE;
        let mut missing = Vec::new();
        for code in 1..=999u16 {
            for meta in DATABASE.by_code(&code).into_iter().flatten() {
                let Ok(region) = meta.id().parse::<Region>() else {
                    continue;
                };
                if meta.descriptors().mobile().is_some() && main_language(region).is_none() {
                    missing.push(meta.id().to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "no main language for {missing:?}");
        assert!(MAIN_LANGUAGES.iter().all(|(_, l)| is_tag(l)));
    }

    #[test]
    fn a_region_s_language() {
        use std::str::FromStr;
        for (region, language) in [("BR", "pt"), ("RU", "ru"), ("DE", "de"), ("MX", "es")] {
            let region = Region::from_str(region).unwrap();
            assert_eq!(main_language(region), Some(language));
        }
    }

    #[test]
    fn tags_and_their_language() {
        for good in ["en", "pt-BR", "zh-Hant-TW", "es-419", "fil"] {
            assert!(is_tag(good), "{good}");
        }
        for bad in [
            "",
            "e",
            "english",
            "pt_BR",
            "pt-",
            "-pt",
            "en-toolongsubtag",
            "e1",
        ] {
            assert!(!is_tag(bad), "{bad}");
        }
        assert_eq!(language_of("pt-BR"), "pt");
        assert_eq!(language_of("EN"), "en");
    }

    #[test]
    fn accept_language_in_order_of_weight() {
        assert_eq!(
            accepted("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
            ["fr-CH", "fr", "en", "de"]
        );
        assert_eq!(accepted("de;q=0.5, ru, en;q=0"), ["ru", "de"]);
        assert_eq!(accepted("es;q=0.8, pt;q=0.8"), ["es", "pt"]);
        assert_eq!(accepted("nonsense;;, en;q=2, ;q=1"), Vec::<&str>::new());
        assert!(accepted("").is_empty());
    }
}
