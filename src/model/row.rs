//! A result row as the parsers take it: column name -> value, NULL as `None`.

/// A result row as column name -> value (NULL as `None`), the form every parser here takes.
pub type Row = Vec<(String, Option<String>)>;
