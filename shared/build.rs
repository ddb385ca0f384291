//! Splits libphonenumber's metadata by country calling code, at build time.
//!
//! The `phonenumber` crate loads its whole database on the first parse:
//! every region's rules deserialised and every pattern's syntax checked,
//! about 55 ms of CPU, which at Lambda's 128 MB share is most of a second.
//! A number names its calling code in its first digits, so a parse needs
//! only the regions of that code. This script reads the same crate's
//! database (the version Cargo.lock pins, so the rules are exactly the
//! crate's) and writes each code's regions as one postcard blob, with a
//! table of codes and regions that `domain::phone::metadata` reads.

use std::fmt::Write as _;
use std::path::Path;

use phonenumber::metadata::{DATABASE, Descriptor, Metadata, loader};

/// Country calling codes have one to three digits.
const CODES: std::ops::RangeInclusive<u16> = 1..=999;

fn descriptor(d: &Descriptor) -> loader::Descriptor {
    loader::Descriptor {
        national_number: Some(d.national_number().as_str().to_owned()),
        possible_length: d.possible_length().to_vec(),
        possible_local_length: d.possible_local_length().to_vec(),
        example: None,
    }
}

/// The loader's form of a region's metadata, from which `Database::from`
/// builds the same region for parsing and validating. Its formats and
/// example numbers are left out: only formatting reads them, and the
/// service formats E.164 alone, which needs neither; every pattern left
/// out is one a cold start need not check.
fn metadata(m: &Metadata) -> loader::Metadata {
    let d = m.descriptors();
    let owned = |s: Option<&str>| s.map(str::to_owned);
    loader::Metadata {
        general: Some(descriptor(d.general())),
        fixed_line: d.fixed_line().map(descriptor),
        mobile: d.mobile().map(descriptor),
        toll_free: d.toll_free().map(descriptor),
        premium_rate: d.premium_rate().map(descriptor),
        shared_cost: d.shared_cost().map(descriptor),
        personal_number: d.personal_number().map(descriptor),
        voip: d.voip().map(descriptor),
        pager: d.pager().map(descriptor),
        uan: d.uan().map(descriptor),
        emergency: d.emergency().map(descriptor),
        voicemail: d.voicemail().map(descriptor),
        short_code: d.short_code().map(descriptor),
        standard_rate: d.standard_rate().map(descriptor),
        carrier: d.carrier().map(descriptor),
        no_international: d.no_international().map(descriptor),
        id: Some(m.id().to_owned()),
        country_code: Some(m.country_code()),
        international_prefix: m.international_prefix().map(|r| r.as_str().to_owned()),
        preferred_international_prefix: owned(m.preferred_international_prefix()),
        national_prefix: owned(m.national_prefix()),
        preferred_extension_prefix: owned(m.preferred_extension_prefix()),
        national_prefix_for_parsing: m
            .national_prefix_for_parsing()
            .map(|r| r.as_str().to_owned()),
        national_prefix_transform_rule: owned(m.national_prefix_transform_rule()),
        formats: Vec::new(),
        international_formats: Vec::new(),
        main_country_for_code: m.is_main_country_for_code(),
        leading_digits: m.leading_digits().map(|r| r.as_str().to_owned()),
        mobile_number_portable: m.is_mobile_number_portable(),
        defaults: loader::Defaults::default(),
    }
}

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let dir = Path::new(&out).join("phone-metadata");
    std::fs::create_dir_all(&dir).expect("creating the metadata directory");

    let mut codes = String::from("&[\n");
    let mut regions: Vec<(String, u16)> = Vec::new();
    for code in CODES {
        let Some(entries) = DATABASE.by_code(&code) else {
            continue;
        };
        // The main region first, as `Database::from` orders them again.
        let loaded: Vec<loader::Metadata> = entries.iter().map(|m| metadata(m)).collect();
        let blob = postcard::to_allocvec(&loaded).expect("serialising metadata");
        let file = dir.join(format!("{code}.bin"));
        std::fs::write(&file, blob).expect("writing metadata");
        writeln!(
            codes,
            "    ({code}, include_bytes!({:?}) as &[u8]),",
            file.display()
        )
        .unwrap();
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
        "/// Each calling code's regions (postcard), by code.\n\
         static BY_CODE: &[(u16, &[u8])] = {codes};\n\
         /// Each region's calling code, by region id.\n\
         static REGION_CODES: &[(&str, u16)] = {table};\n"
    );
    std::fs::write(Path::new(&out).join("phone_metadata.rs"), source)
        .expect("writing the metadata table");
    println!("cargo::rerun-if-changed=build.rs");
}
