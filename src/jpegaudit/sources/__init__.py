"""Where bytes come from. Each source reads only a file's head and tail, through
`jpegaudit.audit.audit_bytes`, and turns I/O problems into row errors."""
