//! The committed include/socketcore.h must equal what cbindgen generates from the sources, and
//! every error code must have its sentence. Refresh the header with scripts/refresh-header.

#[test]
fn committed_header_matches_generated() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/socketcore.h"));
    let committed = include_str!("../include/socketcore.h");
    assert!(
        generated == committed,
        "include/socketcore.h is stale: run scripts/refresh-header"
    );
}

#[test]
fn every_code_in_the_header_has_a_distinct_sentence() {
    let header = include_str!("../include/socketcore.h");
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    for line in header.lines() {
        let Some(rest) = line.strip_prefix("#define SOCK_ERR_") else {
            continue;
        };
        let value: i32 = rest.split_whitespace().nth(1).unwrap().parse().unwrap();
        let text = unsafe { std::ffi::CStr::from_ptr(socketcore::sock_strerror(value)) };
        let text = text.to_str().unwrap().to_owned();
        assert_ne!(text, "unknown error code", "code {value} has no sentence");
        assert!(seen.insert(text), "code {value} repeats a sentence");
        count += 1;
    }
    assert_eq!(count, 27);
    let unknown = unsafe { std::ffi::CStr::from_ptr(socketcore::sock_strerror(1000)) };
    assert_eq!(unknown.to_str().unwrap(), "unknown error code");
}
