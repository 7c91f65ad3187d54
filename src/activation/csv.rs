//! CSV export (RFC 4180) of an audience, streamed row by row, and the diff between snapshots.
//!
//! Columns: `profile_id` first, then the requested ones. The built-in identifier types
//! (`user_id`, `email`, `phone`, `anonymous_id`) name identifiers; `identifiers.<type>` names any
//! identifier type (custom ones included); `traits.<path>` or any other dot path names a trait.
//!
//! Every cell, identifiers and numbers included, goes through the OWASP formula-injection guard:
//! text starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`. A `-5` therefore becomes
//! `'-5`: the guard cannot know which program opens the file, and a cell that starts with `-`
//! followed by a formula (`-2+3+cmd|' /C calc'!A0`) is the classic attack.

use std::io::Write;

use serde_json::Value;

use super::{ActivationError, ProfileRecord};

/// The identifier types a bare column name refers to.
pub const BUILTIN_IDENTIFIERS: [&str; 4] = ["user_id", "email", "phone", "anonymous_id"];

/// The MIME type of an export (`activation.md`).
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8; header=present";

/// One requested column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// All values of one identifier type, joined by `;` in byte order.
    Identifier(String),
    /// The trait at a dot path.
    Trait(String),
}

/// The requested columns, with their header names (`profile_id` is implied first).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ColumnSpec {
    columns: Vec<(String, Column)>,
}

impl ColumnSpec {
    /// Parses a comma-separated column list such as `email,user_id,plan,address.city`.
    ///
    /// An empty list is allowed (only `profile_id`). Errors: `empty_column` (a blank name),
    /// `invalid_column` (an empty dot-path segment), `duplicate_column` (a column twice, or
    /// `profile_id` asked for explicitly).
    pub fn parse(text: &str) -> Result<ColumnSpec, ActivationError> {
        if text.trim().is_empty() {
            return Ok(ColumnSpec::default());
        }
        ColumnSpec::from_names(text.split(','))
    }

    /// Builds a spec from column names, one per item, with the rules of [`ColumnSpec::parse`].
    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<ColumnSpec, ActivationError> {
        let mut columns: Vec<(String, Column)> = Vec::new();
        for (i, raw) in names.into_iter().enumerate() {
            let path = format!("columns[{i}]");
            let name = raw.trim();
            if name.is_empty() {
                return Err(ActivationError::new(
                    "empty_column",
                    path,
                    "a column name is empty",
                ));
            }
            if name == "profile_id" || columns.iter().any(|(n, _)| n == name) {
                return Err(ActivationError::new(
                    "duplicate_column",
                    path,
                    format!("column `{name}` is asked for twice (profile_id is always first)"),
                ));
            }
            let column = if BUILTIN_IDENTIFIERS.contains(&name) {
                Column::Identifier(name.to_owned())
            } else if let Some(kind) = name.strip_prefix("identifiers.") {
                Column::Identifier(kind.to_owned())
            } else {
                Column::Trait(name.strip_prefix("traits.").unwrap_or(name).to_owned())
            };
            let bad_path = match &column {
                Column::Identifier(kind) => kind.is_empty(),
                Column::Trait(path) => path.split('.').any(str::is_empty),
            };
            if bad_path {
                return Err(ActivationError::new(
                    "invalid_column",
                    path,
                    format!("column `{name}` has an empty path segment"),
                ));
            }
            columns.push((name.to_owned(), column));
        }
        Ok(ColumnSpec { columns })
    }

    /// The header row: `profile_id` then the requested names.
    pub fn header(&self) -> impl Iterator<Item = &str> {
        std::iter::once("profile_id").chain(self.columns.iter().map(|(n, _)| n.as_str()))
    }

    /// The requested columns, in order.
    pub fn columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().map(|(_, c)| c)
    }
}

/// Writes `cell` to `out` the way the export shows it, formula-injection guard included.
pub fn render_cell(cell: CellSource<'_>, out: &mut String) {
    let start = out.len();
    match cell {
        CellSource::Text(t) => out.push_str(t),
        CellSource::Json(None | Some(Value::Null)) => {}
        CellSource::Json(Some(Value::String(s))) => out.push_str(s),
        CellSource::Json(Some(Value::Bool(b))) => out.push_str(if *b { "true" } else { "false" }),
        CellSource::Json(Some(v)) => out.push_str(&v.to_string()),
    }
    if out[start..].starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.insert(start, '\'');
    }
}

/// What a cell is made from.
#[derive(Clone, Copy, Debug)]
pub enum CellSource<'a> {
    /// Plain text (identifier values, already joined).
    Text(&'a str),
    /// A trait value, or `None` when missing.
    Json(Option<&'a Value>),
}

/// A streaming CSV export: the header is written on creation, then one row per profile.
pub struct CsvExport<W: Write> {
    writer: ::csv::Writer<W>,
    columns: ColumnSpec,
    cells: Vec<String>,
    joined: String,
    rows: u64,
}

impl<W: Write> CsvExport<W> {
    /// Starts an export to `out`, writing the header row.
    pub fn new(out: W, columns: &ColumnSpec) -> Result<CsvExport<W>, ActivationError> {
        let writer = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .quote_style(::csv::QuoteStyle::Necessary)
            .from_writer(out);
        let width = columns.columns.len() + 1;
        let mut export = CsvExport {
            writer,
            columns: columns.clone(),
            cells: vec![String::new(); width],
            joined: String::new(),
            rows: 0,
        };
        for (cell, name) in export.cells.iter_mut().zip(columns.header()) {
            cell.clear();
            render_cell(CellSource::Text(name), cell);
        }
        export
            .writer
            .write_record(&export.cells)
            .map_err(io_error)?;
        Ok(export)
    }

    /// Writes one profile's row.
    pub fn write_profile(&mut self, profile: &impl ProfileRecord) -> Result<(), ActivationError> {
        let (first, rest) = self.cells.split_at_mut(1);
        first[0].clear();
        render_cell(CellSource::Text(profile.profile_id()), &mut first[0]);
        for (cell, column) in rest.iter_mut().zip(self.columns.columns()) {
            cell.clear();
            match column {
                Column::Identifier(kind) => {
                    self.joined.clear();
                    for (i, v) in profile.identifier_values(kind).enumerate() {
                        if i > 0 {
                            self.joined.push(';');
                        }
                        self.joined.push_str(v);
                    }
                    render_cell(CellSource::Text(&self.joined), cell);
                }
                Column::Trait(path) => render_cell(CellSource::Json(profile.trait_at(path)), cell),
            }
        }
        self.writer.write_record(&self.cells).map_err(io_error)?;
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and gives the writer back.
    pub fn finish(self) -> Result<W, ActivationError> {
        self.writer
            .into_inner()
            .map_err(|e| ActivationError::new("io_error", "output", e.error().to_string()))
    }
}

/// Writes a whole export: header, then one row per profile as the iterator yields it. Returns
/// the number of rows.
pub fn write_csv<'p, W, P, I>(
    out: W,
    columns: &ColumnSpec,
    profiles: I,
) -> Result<u64, ActivationError>
where
    W: Write,
    P: ProfileRecord + 'p,
    I: IntoIterator<Item = &'p P>,
{
    let mut export = CsvExport::new(out, columns)?;
    for p in profiles {
        export.write_profile(p)?;
    }
    let rows = export.rows();
    export.finish()?;
    Ok(rows)
}

fn io_error(e: ::csv::Error) -> ActivationError {
    ActivationError::new("io_error", "output", e.to_string())
}

/// The change between two snapshots of an audience.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Diff<'a> {
    /// Members of `after` not in `before`, sorted.
    pub added: Vec<&'a str>,
    /// Members of `before` not in `after`, sorted.
    pub removed: Vec<&'a str>,
}

/// The diff between two snapshots given as profile ids sorted in byte order (a merge, linear
/// time). Errors with `unsorted_input` (path `before[i]`/`after[i]`) when a list is not strictly
/// increasing.
pub fn diff<'a, S: AsRef<str>>(
    before: &'a [S],
    after: &'a [S],
) -> Result<Diff<'a>, ActivationError> {
    check_sorted(before, "before")?;
    check_sorted(after, "after")?;
    let mut d = Diff::default();
    let (mut i, mut j) = (0, 0);
    while i < before.len() && j < after.len() {
        let (b, a) = (before[i].as_ref(), after[j].as_ref());
        match b.cmp(a) {
            std::cmp::Ordering::Less => {
                d.removed.push(b);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                d.added.push(a);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    d.removed.extend(before[i..].iter().map(AsRef::as_ref));
    d.added.extend(after[j..].iter().map(AsRef::as_ref));
    Ok(d)
}

fn check_sorted<S: AsRef<str>>(ids: &[S], name: &str) -> Result<(), ActivationError> {
    match ids.windows(2).position(|w| w[0].as_ref() >= w[1].as_ref()) {
        None => Ok(()),
        Some(i) => Err(ActivationError::new(
            "unsorted_input",
            format!("{name}[{}]", i + 1),
            "profile ids must be sorted in byte order without repeats",
        )),
    }
}
