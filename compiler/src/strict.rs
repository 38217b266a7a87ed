//! Binary-format rules that wasmparser does not enforce.
//!
//! wasmparser reads all limits as u64 LEB128s. The format requires the limits of 32-bit
//! memories and tables to be u32 LEB128s (at most 5 bytes; the spec tests' `assert_malformed`
//! check it); only 64-bit limits (flag bit 2, memory64) may use u64 LEB128s. This check
//! restores that; it only runs on input wasmparser already accepted. Without multi-memory (the strict
//! WebAssembly 2.0 feature set, [`crate::Features::Wasm2`]) the memory immediates of
//! `memory.size`/`grow`/`fill`/`copy`/`init` must also be single zero bytes.

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

/// Checks the memory-index immediates of one operator: `op` is the operator's raw bytes.
/// Only for the strict WebAssembly 2.0 feature set: multi-memory made them real indices.
pub fn check_memory_immediates(
    op: &wasmparser::Operator<'_>,
    bytes: &[u8],
    offset: u64,
) -> Result<(), CompileError> {
    use wasmparser::Operator as O;
    // Number of trailing single-byte zero immediates, and how many LEB128s precede them after the
    // opcode (so the byte before them must end a LEB128, i.e. have no continuation bit).
    let zeros = match op {
        O::MemorySize { .. } | O::MemoryGrow { .. } => {
            if bytes.len() != 2 || bytes[1] != 0 {
                return Err(malformed("zero byte expected", offset + 1));
            }
            return Ok(());
        }
        O::MemoryFill { .. } | O::MemoryInit { .. } => 1,
        O::MemoryCopy { .. } => 2,
        _ => return Ok(()),
    };
    let n = bytes.len();
    let ok =
        n > zeros && bytes[n - zeros..].iter().all(|b| *b == 0) && bytes[n - zeros - 1] & 0x80 == 0;
    if ok {
        Ok(())
    } else {
        Err(malformed("zero byte expected", offset + (n - zeros) as u64))
    }
}
