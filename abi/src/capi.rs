//! The C API of libraries built with `wasic build --lib`: its one declaration, the checked-in
//! header `rt/include/wasic.h` ([`HEADER`]), and the names of the functions it declares
//! ([`SYMBOLS`]), read from it at compile time. The runtime library implements them
//! (`rt/src/capi.rs`, whose tests compare its definitions with the header's prototypes); the
//! CLI embeds the header into the headers it generates and exports exactly these symbols from
//! shared libraries.

/// The text of `rt/include/wasic.h`.
pub const HEADER: &str = include_str!("../../rt/include/wasic.h");

/// The functions [`HEADER`] declares, in order of declaration.
pub const SYMBOLS: &[&str] = &symbols::<{ count(HEADER) }>(HEADER);

/// What the scan looks for: a `wasic_*` identifier directly followed (spaces aside) by `(`,
/// outside comments, string literals, preprocessor lines and parentheses. That is exactly a
/// function declaration in a header that declares functions, types and an `enum` of constants,
/// nothing else (no function pointers, no macros taking arguments outside `#define` lines).
/// Returns how many such names the text has, and the span of the `want`-th (0-based).
const fn scan(text: &str, want: usize) -> (usize, usize, usize) {
    let h = text.as_bytes();
    let n = h.len();
    let (mut i, mut parens, mut found, mut span) = (0, 0usize, 0, (0, 0));
    let mut line_start = true;
    while i < n {
        let b = h[i];
        if b == b'/' && i + 1 < n && h[i + 1] == b'*' {
            i += 2;
            while i + 1 < n && !(h[i] == b'*' && h[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if (b == b'/' && i + 1 < n && h[i + 1] == b'/') || (b == b'#' && line_start) {
            // To the end of the line, following backslash continuations.
            while i < n && !(h[i] == b'\n' && h[i - 1] != b'\\') {
                i += 1;
            }
            continue;
        }
        if b == b'"' || b == b'\'' {
            i += 1;
            while i < n && h[i] != b {
                if h[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            line_start = false;
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < n && (h[i].is_ascii_alphanumeric() || h[i] == b'_') {
                i += 1;
            }
            let mut j = i;
            while j < n && (h[j] == b' ' || h[j] == b'\t' || h[j] == b'\n') {
                j += 1;
            }
            let is_api = i - start > 6
                && h[start] == b'w'
                && h[start + 1] == b'a'
                && h[start + 2] == b's'
                && h[start + 3] == b'i'
                && h[start + 4] == b'c'
                && h[start + 5] == b'_';
            if is_api && parens == 0 && j < n && h[j] == b'(' {
                if found == want {
                    span = (start, i);
                }
                found += 1;
            }
            line_start = false;
            continue;
        }
        match b {
            b'(' => parens += 1,
            b')' => parens = parens.saturating_sub(1),
            _ => {}
        }
        if b == b'\n' {
            line_start = true;
        } else if b != b' ' && b != b'\t' {
            line_start = false;
        }
        i += 1;
    }
    (found, span.0, span.1)
}

/// How many functions `text` declares.
pub const fn count(text: &str) -> usize {
    scan(text, usize::MAX).0
}

/// The names of the `N` functions `text` declares. Fails (at compile time, for [`SYMBOLS`])
/// if a name is declared twice or the text declares none.
pub const fn symbols<const N: usize>(text: &str) -> [&str; N] {
    assert!(N > 0, "the C API header declares no function");
    let mut out = [""; N];
    let mut k = 0;
    while k < N {
        let (_, start, end) = scan(text, k);
        let (_, rest) = text.as_bytes().split_at(start);
        let (name, _) = rest.split_at(end - start);
        out[k] = match core::str::from_utf8(name) {
            Ok(s) => s,
            Err(_) => panic!("a C API name is not UTF-8"),
        };
        let mut prev = 0;
        while prev < k {
            assert!(
                !eq(out[prev], out[k]),
                "the C API header declares a function twice"
            );
            prev += 1;
        }
        k += 1;
    }
    out
}

const fn eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only prototypes count: not comments, macros, strings, types, enum constants, attribute
    /// parentheses or function-pointer parameters.
    #[test]
    fn only_the_prototypes_of_the_header_are_read_as_symbols() {
        const TEXT: &str = r#"/* wasic_comment(void); */
#define wasic_macro(x) (x) \
    wasic_continued(x)
// wasic_line_comment(int);
typedef union wasic_val { int i32; } __attribute__((aligned(16))) wasic_val_t;
enum { WASIC_OK = 0 };
const char *wasic_first(void);
void wasic_second(wasic_val_t *v, int (*wasic_callback)(int), const char *s);
int
wasic_third (int x); /* "wasic_in_string(" */
static const char *s = "wasic_quoted(";
"#;
        const N: usize = count(TEXT);
        assert_eq!(
            symbols::<N>(TEXT),
            ["wasic_first", "wasic_second", "wasic_third"]
        );
    }

    #[test]
    fn the_header_declares_the_c_api() {
        assert!(SYMBOLS.contains(&"wasic_instance_new"), "{SYMBOLS:?}");
        assert!(SYMBOLS.contains(&"wasic_last_error"), "{SYMBOLS:?}");
        assert!(SYMBOLS.iter().all(|s| s.starts_with("wasic_")));
        assert!(!SYMBOLS.contains(&"wasic_val"), "a type is no function");
    }
}
