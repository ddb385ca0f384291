//! libphonenumber's metadata one calling code at a time (see build.rs): a
//! parse loads the regions of the codes it can reach, not every region, so
//! the first number a cold start reads costs a few hundred microseconds of
//! CPU instead of the whole database's tens of milliseconds.

use std::sync::{Arc, Mutex};

use phonenumber::country::Id as Region;
use phonenumber::metadata::{Database, loader};

include!(concat!(env!("OUT_DIR"), "/phone_metadata.rs"));

/// Databases kept for reuse: one per code set seen, most recent last.
/// Numbers nearly always need one code, so this holds every code a
/// deployment serves; an odd input that needs two pushes out the oldest.
const KEPT: usize = 32;
static KEPT_DATABASES: Mutex<Vec<(Vec<u16>, Arc<Database>)>> = Mutex::new(Vec::new());

fn blob(code: u16) -> Option<&'static [u8]> {
    BY_CODE
        .binary_search_by_key(&code, |(c, _)| *c)
        .ok()
        .map(|i| BY_CODE[i].1)
}

/// The calling code that a run of digits starts with. Calling codes are
/// prefix-free, so there is at most one; none starts with 0.
pub fn code_prefix(digits: &str) -> Option<u16> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3)
        .filter_map(|len| digits.get(..len))
        .filter_map(|prefix| prefix.parse().ok())
        .find(|code| blob(*code).is_some())
}

/// The calling code of a region.
pub fn region_code(region: Region) -> Option<u16> {
    let id: &str = region.as_ref();
    REGION_CODES
        .binary_search_by_key(&id, |(r, _)| r)
        .ok()
        .map(|i| REGION_CODES[i].1)
}

/// A database holding exactly the regions of `codes` (each a known code).
pub fn for_codes(codes: &[u16]) -> Arc<Database> {
    let mut codes = codes.to_vec();
    codes.sort_unstable();
    codes.dedup();
    {
        let mut kept = KEPT_DATABASES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = kept.iter().position(|(c, _)| *c == codes) {
            let entry = kept.remove(i);
            let database = Arc::clone(&entry.1);
            kept.push(entry);
            return database;
        }
    }
    // Built outside the lock: other parses go on meanwhile.
    let mut regions: Vec<loader::Metadata> = Vec::new();
    for code in &codes {
        let bytes = blob(*code).expect("a calling code the metadata holds");
        let loaded: Vec<loader::Metadata> =
            postcard::from_bytes(bytes).expect("build.rs wrote this metadata");
        regions.extend(loaded);
    }
    let database = Arc::new(Database::from(regions).expect("the crate's own metadata builds"));
    let mut kept = KEPT_DATABASES.lock().unwrap_or_else(|e| e.into_inner());
    kept.push((codes, Arc::clone(&database)));
    if kept.len() > KEPT {
        kept.remove(0);
    }
    database
}
