//! The compiler's typed error: what went wrong and, for input problems, where (byte offset).

use thiserror::Error;

/// Everything [`crate::compile`] can fail with. The compiler never panics on bad input: a
/// malformed or invalid module is an [`CompileError::Invalid`], a valid module using a feature
/// wasic does not implement yet is an [`CompileError::Unsupported`].
#[derive(Debug, Error)]
pub enum CompileError {
    /// The bytes are not a valid WebAssembly module (wasmparser's decoding or validation error).
    #[error("invalid module at offset {offset:#x}: {message}")]
    Invalid { message: String, offset: usize },
    /// The module is valid but uses something wasic cannot compile yet.
    #[error("unsupported WebAssembly feature at offset {offset:#x}: {message}")]
    Unsupported { message: String, offset: usize },
    /// Cranelift rejected or failed on the code we generated (a compiler bug, or a limit).
    #[error("code generation failed for {what}: {message}")]
    Codegen { what: String, message: String },
    /// Writing the object file failed.
    #[error("object emission failed: {0}")]
    Object(String),
}

impl CompileError {
    /// Byte offset in the input module the error refers to, when there is one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            CompileError::Invalid { offset, .. } | CompileError::Unsupported { offset, .. } => {
                Some(*offset)
            }
            CompileError::Codegen { .. } | CompileError::Object(_) => None,
        }
    }

    pub(crate) fn unsupported(message: impl Into<String>, offset: u64) -> Self {
        CompileError::Unsupported {
            message: message.into(),
            offset: offset as usize,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        CompileError::Invalid {
            message: e.message().to_string(),
            offset: e.offset() as usize,
        }
    }
}
