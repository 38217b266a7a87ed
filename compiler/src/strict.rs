//! Binary-format rules that wasmparser does not enforce.
//!
//! wasmparser reads all limits as u64 LEB128s. The format requires the limits of 32-bit
//! memories and tables to be u32 LEB128s (at most 5 bytes; the spec tests' `assert_malformed`
//! check it); only 64-bit limits (flag bit 2, memory64) may use u64 LEB128s. This check
//! restores that; it only runs on input wasmparser already accepted. (Multi-memory made the
//! memory-index immediates real LEB128 indices, so the 2.0 "zero byte expected" check is gone.)

use crate::error::CompileError;

fn malformed(message: &str, offset: u64) -> CompileError {
    CompileError::Invalid {
        message: message.into(),
        offset: offset as usize,
    }
}

/// Reads an unsigned LEB128 at `bytes[*pos..]`, returning its length in bytes.
fn leb_len(bytes: &[u8], pos: &mut usize) -> Option<usize> {
    let start = *pos;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        if b & 0x80 == 0 {
            return Some(*pos - start);
        }
    }
}

/// Checks the limits (flags, min, optional max) starting at `bytes[pos]`, where `bytes` starts
/// at module offset `base`: each bound of 32-bit limits must fit a 5-byte u32 LEB128.
pub fn check_limits(bytes: &[u8], mut pos: usize, base: u64) -> Result<(), CompileError> {
    let Some(&flags) = bytes.get(pos) else {
        return Ok(());
    };
    pos += 1;
    if flags & 0x04 != 0 {
        // 64-bit limits: u64 LEB128s, already checked by wasmparser.
        return Ok(());
    }
    let bounds = if flags & 1 != 0 { 2 } else { 1 };
    for _ in 0..bounds {
        let at = pos;
        match leb_len(bytes, &mut pos) {
            Some(n) if n > 5 => {
                return Err(malformed(
                    "integer representation too long",
                    base + at as u64,
                ))
            }
            Some(_) => {}
            None => return Ok(()),
        }
    }
    Ok(())
}

/// Position just after a name (LEB128 length + bytes) at `bytes[pos..]`.
pub fn skip_name(bytes: &[u8], mut pos: usize) -> Option<usize> {
    let start = pos;
    leb_len(bytes, &mut pos)?;
    let mut len = 0usize;
    for (i, b) in bytes[start..pos].iter().enumerate() {
        len |= ((b & 0x7f) as usize).checked_shl(7 * i as u32).unwrap_or(0);
    }
    pos.checked_add(len)
}
