//! Generates include/socketcore.h with cbindgen into OUT_DIR. The committed copy in include/
//! is refreshed only when asked (SOCKETCORE_UPDATE_HEADER=1, see scripts/refresh-header);
//! tests/header.rs fails when the two differ.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("socketcore.h");
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("set by cargo");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("set by cargo");
    let version_macros = format!(
        "\n#define SOCKETCORE_VERSION_MAJOR {major}\n#define SOCKETCORE_VERSION_MINOR {minor}\n\
         #define SOCKETCORE_VERSION_PATCH {patch}\n#define SOCKETCORE_VERSION \"{major}.{minor}.{patch}\"\n"
    );
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    // The version macros first, then cbindgen.toml's own after_includes (extern "C" opens).
    let after_includes = config.after_includes.take().unwrap_or_default();
    config.after_includes = Some(format!("{version_macros}{after_includes}"));
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can parse the crate")
        .write_to_file(&out);
    if env::var_os("SOCKETCORE_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::copy(&out, crate_dir.join("include/socketcore.h")).expect("include/ is writable");
    }
    // The shared library carries a versioned SONAME so that programs link to an ABI line.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsocketcore.so.{major}");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=SOCKETCORE_UPDATE_HEADER");
}
