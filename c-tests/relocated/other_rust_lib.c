/* Stands in for another Rust static library linked into the same program: it defines symbols
 * every Rust staticlib carries. libsocketcore.a keeps its own copies local, so linking both
 * must not fail with "multiple definition" (scripts/test-relocation.sh). */
int rust_eh_personality(void);
int __rust_alloc(void);

int rust_eh_personality(void)
{
    return 7;
}

int __rust_alloc(void)
{
    return 8;
}
