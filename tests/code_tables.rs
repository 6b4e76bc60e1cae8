//! The bindings' copies of the contract's numbers must say what the header says (the header
//! itself is checked against the Rust sources by `header.rs`, and the README's error table by
//! `readme.rs`): the Python package's enums and option constants by value, the Lua module's
//! tables by name (it takes every value from the header's own macros); and every copy of the
//! version is Cargo.toml's.

use std::collections::BTreeMap;

const HEADER: &str = include_str!("../include/socketcore.h");
const PYTHON: &str = include_str!("../bindings/python/src/socketcore/constants.py");
const LUA: &str = include_str!("../bindings/lua/lsocketcore.c");

/// `#define NAME VALUE` lines of the header whose value is a plain integer.
fn header_numbers() -> BTreeMap<String, i64> {
    HEADER
        .lines()
        .filter_map(|l| {
            let mut parts = l.strip_prefix("#define ")?.split_whitespace();
            let (name, value) = (parts.next()?, parts.next()?);
            Some((name.to_string(), parse_int(value)?))
        })
        .collect()
}

fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// The header's constants whose names start with `prefix`, keyed by the rest of the name.
fn family(prefix: &str) -> BTreeMap<String, i64> {
    header_numbers()
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v)))
        .collect()
}

/// `NAME = VALUE` members of the Python class `class_name` (up to the next blank-line gap).
fn python_enum(class_name: &str) -> BTreeMap<String, i64> {
    let start = PYTHON
        .find(&format!("class {class_name}("))
        .unwrap_or_else(|| panic!("no class {class_name} in constants.py"));
    PYTHON[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("class ") && !l.starts_with('#'))
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(" = ")?;
            let value = rest.split('#').next()?;
            Some((name.to_string(), parse_int(value)?))
        })
        .collect()
}

/// Top-level `NAME = VALUE` constants of constants.py.
fn python_module_constants() -> BTreeMap<String, i64> {
    PYTHON
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| {
            let (name, value) = l.split_once(" = ")?;
            Some((name.to_string(), parse_int(value)?))
        })
        .collect()
}

/// `set_int(L, "NAME", EXPR)` lines of the Lua module: NAME -> EXPR.
fn lua_table() -> BTreeMap<String, String> {
    LUA.split("set_int(L, \"")
        .skip(1)
        .filter_map(|rest| {
            let (name, tail) = rest.split_once("\", ")?;
            let expr = tail.split(')').next()?.trim();
            Some((name.to_string(), expr.to_string()))
        })
        .collect()
}

#[test]
fn python_enums_match_the_header() {
    let errors = family("SOCK_ERR_");
    assert_eq!(errors.len(), 27, "the header's error codes");
    assert_eq!(python_enum("Err"), errors, "Python Err vs SOCK_ERR_*");

    let mut messages = family("MSG_SOCK_");
    messages.insert("TIMER".into(), header_numbers()["MSG_TIMER"]);
    assert_eq!(python_enum("MsgId"), messages, "Python MsgId vs MSG_*");

    assert_eq!(
        python_enum("SockType"),
        family("SOCK_TYPE_"),
        "Python SockType"
    );
    assert_eq!(
        python_enum("TlsVerify"),
        family("SOCK_TLS_VERIFY_"),
        "Python TlsVerify"
    );
}

#[test]
fn python_option_constants_match_the_header() {
    let py = python_module_constants();
    let options: Vec<(String, i64)> = header_numbers()
        .into_iter()
        .filter(|(k, _)| {
            ["SOCK_SOL_", "SOCK_IPPROTO_", "SOCK_SO_", "SOCK_TCP_"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .collect();
    assert!(
        options.len() >= 10,
        "the header's option constants: {options:?}"
    );
    for (name, value) in options {
        let short = &name["SOCK_".len()..];
        assert_eq!(py.get(short), Some(&value), "Python {short} vs {name}");
    }
}

#[test]
fn lua_tables_cover_the_header() {
    let lua = lua_table();
    let expect = |lua_name: &str, c_name: &str| {
        assert_eq!(
            lua.get(lua_name).map(String::as_str),
            Some(c_name),
            "Lua {lua_name} must be set from {c_name}"
        );
    };
    for name in family("SOCK_ERR_").keys() {
        expect(&format!("ERR_{name}"), &format!("SOCK_ERR_{name}"));
    }
    // The firmware's own spellings are kept beside the right ones.
    expect("ERR_SSL_EHANDESHAK", "SOCK_ERR_SSL_EHANDSHAKE");
    for name in family("MSG_SOCK_").keys() {
        expect(&format!("MSG_SOCK_{name}"), &format!("MSG_SOCK_{name}"));
    }
    expect("MSG_TIMER", "MSG_TIMER");
    for name in family("SOCK_TYPE_").keys() {
        expect(&format!("SOCK_TYPE_{name}"), &format!("SOCK_TYPE_{name}"));
    }
    for name in family("SOCK_COMPAT_").keys() {
        expect(
            &format!("SOCK_COMPAT_{name}"),
            &format!("SOCK_COMPAT_{name}"),
        );
    }
    for (name, _) in header_numbers() {
        let option = ["SOCK_SOL_", "SOCK_IPPROTO_", "SOCK_SO_", "SOCK_TCP_"]
            .iter()
            .any(|p| name.starts_with(p));
        if option {
            expect(&name["SOCK_".len()..], &name);
        }
    }
}

/// Every copy of the version is Cargo.toml's. Those made from it at build or install time
/// (`sock_version`, the header's macros via build.rs, the Python package via setup.py and
/// `_version.py`, the Lua module's `VERSION` via `sock_version`, the pkg-config and CMake files
/// via scripts/install.sh, checked against the header by CTest `cmake.version_requests`) must
/// stay derived; the one kept by hand, the LuaRocks rockspec, must match.
#[test]
fn every_version_is_the_crates() {
    let version = env!("CARGO_PKG_VERSION");
    let numbers = header_numbers();
    let parts: Vec<i64> = version.split('.').map(|p| p.parse().unwrap()).collect();
    let macros = ["MAJOR", "MINOR", "PATCH"].map(|p| numbers[&format!("SOCKETCORE_VERSION_{p}")]);
    assert_eq!(
        macros.to_vec(),
        parts,
        "SOCKETCORE_VERSION_MAJOR/MINOR/PATCH"
    );
    let define = format!("#define SOCKETCORE_VERSION \"{version}\"");
    assert!(
        HEADER.lines().any(|l| l == define),
        "{define} in the header"
    );

    let root = env!("CARGO_MANIFEST_DIR");
    let rockspec = format!("{root}/bindings/lua/socketcore-{version}-1.rockspec");
    let text = std::fs::read_to_string(&rockspec)
        .unwrap_or_else(|e| panic!("{rockspec}: {e} (rename it to Cargo.toml's version)"));
    let line = format!("version = \"{version}-1\"");
    assert!(
        text.lines().any(|l| l == line),
        "{rockspec} must say {line}"
    );
    let rockspecs = std::fs::read_dir(format!("{root}/bindings/lua"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".rockspec")
        })
        .count();
    assert_eq!(rockspecs, 1, "one rockspec, Cargo.toml's version");

    let pyproject = include_str!("../bindings/python/pyproject.toml");
    assert!(
        pyproject.contains("dynamic = [\"version\"]"),
        "pyproject.toml"
    );
    assert!(!pyproject.lines().any(|l| l.starts_with("version")));
    let setup = include_str!("../bindings/python/setup.py");
    assert!(setup.contains("version=cargo_version()"), "setup.py");
    let install = include_str!("../scripts/install.sh");
    assert!(
        install.contains("' Cargo.toml)"),
        "install.sh reads Cargo.toml"
    );
}
