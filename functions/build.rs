//! The build script of every function crate: links its bootstrap as a
//! position-dependent executable. A PIE's loader applies tens of thousands
//! of relative relocations at every start, touching a page for each, which
//! is about 1.5 ms of a cold start's CPU; a fixed-address executable has
//! none. Only the bootstraps: tests, build scripts and proc macros keep
//! their defaults.

fn main() {
    println!("cargo::rustc-link-arg-bins=-no-pie");
}
