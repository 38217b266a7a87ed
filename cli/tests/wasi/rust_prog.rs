// A Rust test program for wasm32-wasip1: uses std::env (args, vars), std::fs (read, write,
// read_dir, create_dir, metadata) in the granted directory /data, and exits with status 3.
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args: {args:?}");
    println!("RUST_TEST_VAR={}", std::env::var("RUST_TEST_VAR").unwrap_or_else(|_| "(unset)".into()));
    let input = std::fs::read_to_string("/data/in.txt").expect("read /data/in.txt");
    println!("read {} bytes: {}", input.len(), input.trim_end());
    std::fs::create_dir("/data/made-by-rust").expect("create_dir");
    let mut f = std::fs::File::create("/data/made-by-rust/out.txt").expect("create");
    writeln!(f, "{}", input.trim_end().chars().rev().collect::<String>()).unwrap();
    drop(f);
    let mut names: Vec<String> = std::fs::read_dir("/data")
        .expect("read_dir")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("entries: {names:?}");
    let md = std::fs::metadata("/data/made-by-rust/out.txt").unwrap();
    println!("out.txt: {} bytes, file: {}", md.len(), md.is_file());
    match std::fs::read("/etc/passwd") {
        Ok(_) => println!("/etc/passwd: ESCAPED"),
        Err(e) => println!("/etc/passwd: denied ({:?})", e.kind()),
    }
    std::io::stdout().flush().unwrap();
    std::process::exit(3);
}
