//! From a libphonenumber pattern to a `pattern::Inst` program: run by
//! build.rs, and by the tests that hold the programs to the `regex` crate.
//! regex-syntax parses, exactly as the `regex` crate the `phonenumber`
//! crate uses would; only its syntax tree is walked here.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::pattern::Inst;

/// The program of `pattern`, read as the `phonenumber` crate builds its
/// regexes (whitespace ignored), and its group count, the whole match
/// included.
pub fn compile(pattern: &str) -> (Vec<Inst>, u8) {
    // Without Unicode, `\d` is [0-9]: the same on the digits matched here.
    let hir = ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .ignore_whitespace(true)
        .build()
        .parse(pattern)
        .unwrap_or_else(|e| panic!("libphonenumber pattern {pattern:?}: {e}"));
    let groups = hir.properties().explicit_captures_len() + 1;
    let mut program = Vec::new();
    emit(&hir, &mut program);
    program.push(Inst::Match);
    assert!(
        program.len() < usize::from(u16::MAX),
        "{pattern:?} too long"
    );
    (program, u8::try_from(groups).expect("few groups"))
}

fn target(program: &[Inst]) -> u16 {
    u16::try_from(program.len()).expect("programs are short")
}

/// The digits a class or a one-byte literal matches, when `hir` is one.
fn digit_set(hir: &Hir) -> Option<u16> {
    let bytes: Vec<(u8, u8)> = match hir.kind() {
        HirKind::Literal(literal) if literal.0.len() == 1 => vec![(literal.0[0], literal.0[0])],
        HirKind::Class(Class::Bytes(class)) => class
            .ranges()
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect(),
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .map(|r| {
                let clamp = |c: char| u8::try_from(u32::from(c).min(255)).unwrap_or(u8::MAX);
                (clamp(r.start()), clamp(r.end()))
            })
            .collect(),
        _ => return None,
    };
    Some(
        (b'0'..=b'9')
            .filter(|d| bytes.iter().any(|(lo, hi)| lo <= d && d <= hi))
            .fold(0, |set, d| set | 1 << (d - b'0')),
    )
}

fn emit(hir: &Hir, program: &mut Vec<Inst>) {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(literal) => {
            // A byte that is no digit matches nothing here.
            program.extend(literal.0.iter().map(|b| {
                Inst::Class(if b.is_ascii_digit() {
                    1 << (b - b'0')
                } else {
                    0
                })
            }));
        }
        HirKind::Class(_) => program.push(Inst::Class(digit_set(hir).expect("a class"))),
        HirKind::Look(Look::End) => program.push(Inst::End),
        HirKind::Look(look) => panic!("no libphonenumber pattern asserts {look:?}"),
        HirKind::Repetition(repetition) => {
            assert!(
                repetition.greedy,
                "no libphonenumber pattern repeats lazily"
            );
            let min = u8::try_from(repetition.min).expect("short repetitions");
            if let Some(set) = digit_set(&repetition.sub) {
                let max = repetition
                    .max
                    .map_or(u8::MAX, |m| u8::try_from(m).expect("short repetitions"));
                program.push(Inst::Counts(min, max));
                program.push(Inst::Repeat(set));
                return;
            }
            for _ in 0..min {
                emit(&repetition.sub, program);
            }
            match repetition.max {
                None => {
                    // Another copy (the next step), else past the loop.
                    let start = target(program);
                    program.push(Inst::Jump(0));
                    emit(&repetition.sub, program);
                    program.push(Inst::Jump(start));
                    program[usize::from(start)] = Inst::Split(target(program));
                }
                Some(max) => {
                    // x{0,3} as (?:x(?:x(?:x)?)?)?: each optional copy may
                    // end the repetition.
                    let mut holes = Vec::new();
                    for _ in repetition.min..max {
                        holes.push(target(program));
                        program.push(Inst::Jump(0));
                        emit(&repetition.sub, program);
                    }
                    let end = target(program);
                    for hole in holes {
                        program[usize::from(hole)] = Inst::Split(end);
                    }
                }
            }
        }
        HirKind::Capture(capture) => {
            let slot = u8::try_from(2 * capture.index).expect("few groups");
            program.push(Inst::Save(slot));
            emit(&capture.sub, program);
            program.push(Inst::Save(slot + 1));
        }
        HirKind::Concat(parts) => {
            for part in parts {
                emit(part, program);
            }
        }
        HirKind::Alternation(branches) => {
            let (last, rest) = branches.split_last().expect("two branches or more");
            let mut exits = Vec::new();
            for branch in rest {
                let split = target(program);
                program.push(Inst::Jump(0));
                emit(branch, program);
                exits.push(target(program));
                program.push(Inst::Jump(0));
                program[usize::from(split)] = Inst::Split(target(program));
            }
            emit(last, program);
            let end = target(program);
            for exit in exits {
                program[usize::from(exit)] = Inst::Jump(end);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use phonenumber::metadata::DATABASE;
    use regex::RegexBuilder;

    use super::super::pattern::Pattern;
    use super::compile;

    /// Every pattern of the metadata, as build.rs compiles them.
    fn every_pattern() -> Vec<String> {
        let mut patterns = Vec::new();
        for code in 1..=999u16 {
            for meta in DATABASE.by_code(&code).unwrap_or_default() {
                let d = meta.descriptors();
                patterns.extend(
                    [
                        Some(d.general()),
                        d.fixed_line(),
                        d.mobile(),
                        d.toll_free(),
                        d.premium_rate(),
                        d.shared_cost(),
                        d.personal_number(),
                        d.voip(),
                        d.pager(),
                        d.uan(),
                        d.voicemail(),
                    ]
                    .into_iter()
                    .flatten()
                    .map(|d| d.national_number().as_str().to_owned()),
                );
                patterns.extend(
                    [
                        meta.international_prefix(),
                        meta.national_prefix_for_parsing(),
                        meta.leading_digits(),
                    ]
                    .into_iter()
                    .flatten()
                    .map(|r| r.as_str().to_owned()),
                );
            }
        }
        patterns.sort();
        patterns.dedup();
        patterns
    }

    /// Digit runs the patterns are asked about: every region's example
    /// numbers, with and without a leading prefix, cut short and run on,
    /// and random runs from a fixed seed.
    fn texts() -> Vec<String> {
        let mut texts = Vec::new();
        for code in 1..=999u16 {
            for meta in DATABASE.by_code(&code).unwrap_or_default() {
                let d = meta.descriptors();
                for example in [Some(d.general()), d.fixed_line(), d.mobile(), d.toll_free()]
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.example())
                {
                    for text in [
                        example.to_owned(),
                        format!("{code}{example}"),
                        format!("0{example}"),
                        format!("8{example}"),
                        format!("00{code}{example}"),
                        format!("{example}1"),
                        example[..example.len() - 1].to_owned(),
                    ] {
                        texts.push(text);
                    }
                }
            }
        }
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 18) as usize;
            texts.push(
                (0..len)
                    .map(|i| char::from(b'0' + (seed >> (3 * i % 60)) as u8 % 10))
                    .collect(),
            );
        }
        texts.sort();
        texts.dedup();
        texts
    }

    #[test]
    fn programs_match_as_the_regex_crate_does() {
        let patterns = every_pattern();
        let texts = texts();
        assert!(patterns.len() > 1000, "{} patterns", patterns.len());
        let (mut matched, mut captured) = (0, 0);
        for source in &patterns {
            let (program, groups) = compile(source);
            let pattern = Pattern {
                program: program.leak(),
                groups,
            };
            let regex = RegexBuilder::new(source)
                .ignore_whitespace(true)
                .build()
                .unwrap();
            assert_eq!(usize::from(groups), regex.captures_len(), "{source:?}");
            for text in &texts {
                // What `find` reports as a match at the start, and the
                // groups of that match.
                let want = regex
                    .captures(text)
                    .filter(|c| c.get(0).unwrap().start() == 0);
                let got = pattern.captures(text);
                assert_eq!(
                    got.as_ref().map(|c| c.end()),
                    want.as_ref().map(|c| c.get(0).unwrap().end()),
                    "{source:?} on {text:?}"
                );
                if let (Some(got), Some(want)) = (got, want) {
                    matched += 1;
                    for group in 1..regex.captures_len() {
                        let expected = want.get(group).map(|m| m.as_str());
                        captured += usize::from(expected.is_some());
                        assert_eq!(got.group(text, group), expected, "{source:?} on {text:?}");
                    }
                }
            }
        }
        // Not all refusals, and groups were compared.
        assert!(matched > 100_000, "{matched} matches");
        assert!(captured > 1000, "{captured} groups");
    }
}
