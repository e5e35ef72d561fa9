//! (being written)

/// Serve LSP over standard input and output until the client exits.
pub async fn serve_stdio() {}
