//! The README's error table must say what the library says.

#[test]
fn error_table_matches_the_library() {
    let readme = include_str!("../README.md");
    let mut rows = 0;
    for line in readme.lines() {
        let Some(rest) = line.strip_prefix("| `SOCK_ERR_") else {
            continue;
        };
        let cells: Vec<&str> = rest.split('|').map(str::trim).collect();
        let value: i32 = cells[1].parse().expect("a numeric value column");
        let text = unsafe { std::ffi::CStr::from_ptr(socketcore::sock_strerror(value)) };
        assert_eq!(
            cells[2],
            text.to_str().unwrap(),
            "README row for code {value}"
        );
        assert_eq!(value, rows, "rows are in numeric order without gaps");
        rows += 1;
    }
    assert_eq!(rows, 27);
}
