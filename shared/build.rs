//! Compiles libphonenumber's metadata into Rust statics, at build time.
//!
//! The `phonenumber` crate loads its whole database on the first parse and
//! compiles a region's regular expressions when a number first needs them:
//! tens of milliseconds of CPU, which at Lambda's 128 MB share wait for the
//! next period. This script reads the same crate's database (the version
//! Cargo.lock pins, so the rules are exactly the crate's) and writes what
//! parsing and validating read of each region, every pattern compiled into
//! a program for `domain::phone::pattern`'s matcher: a cold start compiles
//! nothing and deserialises nothing.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};

#[allow(dead_code)]
#[path = "src/domain/phone/pattern.rs"]
mod pattern;

#[path = "src/domain/phone/compile.rs"]
mod compile;

/// Country calling codes have one to three digits.
const CODES: std::ops::RangeInclusive<u16> = 1..=999;

/// Each distinct pattern once, as a static program and a const naming it.
#[derive(Default)]
struct Patterns {
    names: HashMap<String, String>,
    source: String,
}

impl Patterns {
    fn name(&mut self, pattern: &str) -> String {
        if let Some(name) = self.names.get(pattern) {
            return name.clone();
        }
        let (program, groups) = compile::compile(pattern);
        let name = format!("P{}", self.names.len());
        let steps: Vec<String> = program.iter().map(|i| format!("I::{i:?}")).collect();
        writeln!(
            self.source,
            "static {name}_PROGRAM: [I; {}] = [{}];\n\
             const {name}: Pattern = Pattern {{ program: &{name}_PROGRAM, groups: {groups} }};",
            program.len(),
            steps.join(", ")
        )
        .unwrap();
        self.names.insert(pattern.to_owned(), name.clone());
        name
    }

    fn option(&mut self, pattern: Option<&str>) -> String {
        pattern.map_or("None".into(), |p| format!("Some({})", self.name(p)))
    }

    fn descriptor(&mut self, d: &Descriptor) -> String {
        format!(
            "Desc {{ pattern: {}, lengths: &{:?}, local_lengths: &{:?} }}",
            self.name(d.national_number().as_str()),
            d.possible_length(),
            d.possible_local_length()
        )
    }
}

/// A transform rule, `<digits>$<group>` in every region that has one.
fn transform(rule: &str) -> String {
    let (literal, group) = rule
        .split_once('$')
        .filter(|(l, g)| {
            l.bytes().all(|b| b.is_ascii_digit())
                && g.len() == 1
                && g.as_bytes()[0].is_ascii_digit()
        })
        .unwrap_or_else(|| panic!("a transform rule of another shape: {rule:?}"));
    format!("Transform {{ literal: {literal:?}, group: {group} }}")
}

/// What `domain::phone` reads of a region. The kinds are those a valid
/// number must match one of, in the order the `phonenumber` crate tries
/// them; formats and example numbers are left out (only formatting reads
/// them, and E.164 needs neither).
fn metadata(m: &Metadata, patterns: &mut Patterns) -> String {
    let d = m.descriptors();
    let kinds: Vec<String> = [
        d.premium_rate(),
        d.toll_free(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
        d.fixed_line(),
        d.mobile(),
    ]
    .into_iter()
    .flatten()
    .map(|k| patterns.descriptor(k))
    .collect();
    format!(
        "Meta {{ id: {:?}, code: {}, international_prefix: {}, national_prefix: {:?}, \
         prefix_for_parsing: {}, transform: {}, leading_digits: {}, general: {}, kinds: &[{}] }}",
        m.id(),
        m.country_code(),
        patterns.option(m.international_prefix().map(|r| r.as_str())),
        m.national_prefix(),
        patterns.option(m.national_prefix_for_parsing().map(|r| r.as_str())),
        m.national_prefix_transform_rule()
            .map_or("None".into(), |r| format!("Some({})", transform(r))),
        patterns.option(m.leading_digits().map(|r| r.as_str())),
        patterns.descriptor(d.general()),
        kinds.join(", ")
    )
}

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut patterns = Patterns::default();
    let mut codes = String::from("&[\n");
    let mut regions: Vec<(String, u16)> = Vec::new();
    for code in CODES {
        let Some(entries) = DATABASE.by_code(&code) else {
            continue;
        };
        // In the crate's order: the main region first.
        let metas: Vec<String> = entries.iter().map(|m| metadata(m, &mut patterns)).collect();
        writeln!(codes, "    ({code}, &[{}]),", metas.join(", ")).unwrap();
        // "001" is the non-geographic entities' shared id, not a region.
        regions.extend(
            entries
                .iter()
                .filter(|m| m.id() != "001")
                .map(|m| (m.id().to_owned(), code)),
        );
    }
    codes.push(']');
    regions.sort();
    let mut table = String::from("&[\n");
    for (id, code) in &regions {
        writeln!(table, "    ({id:?}, {code}),").unwrap();
    }
    table.push(']');

    let source = format!(
        "{}\n\
         /// Each calling code's regions, by code, the main region first.\n\
         static BY_CODE: &[(u16, &[Meta])] = {codes};\n\
         /// Each region's calling code, by region id.\n\
         static REGION_CODES: &[(&str, u16)] = {table};\n",
        patterns.source
    );
    std::fs::write(Path::new(&out).join("phone_metadata.rs"), source)
        .expect("writing the metadata");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/domain/phone/pattern.rs");
    println!("cargo::rerun-if-changed=src/domain/phone/compile.rs");
}
