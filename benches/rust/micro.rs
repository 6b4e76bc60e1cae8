//! Micro-benchmarks of the event ring and the id table, each against a standard-library
//! baseline measured in the same run: `cargo bench --bench micro`. Prints medians and ratios.

use socketcore::micro;
use std::time::Duration;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn compare(
    name: &str,
    n: usize,
    ours: fn(usize) -> Duration,
    base_name: &str,
    base: fn(usize) -> Duration,
) {
    let (mut a, mut b) = (vec![], vec![]);
    for _ in 0..11 {
        a.push(ours(n));
        b.push(base(n));
    }
    let (a, b) = (median(a), median(b));
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "{name:<10} {:>8.1} ns/op   {base_name:<8} {:>8.1} ns/op   ratio {:.2}",
        per(a),
        per(b),
        per(a) / per(b)
    );
}

fn main() {
    let n = 100_000;
    compare("ring", n, micro::ring, "channel", micro::channel);
    compare("id table", n, micro::table, "HashMap", micro::hashmap);
}
