//! The analyst's side of `salama answer`: a small CSV written by hand or
//! in a spreadsheet, one answer per row, read into receipts and answers.
//!
//! ```text
//! receipt,status,reply,text
//! 7K3M-Q9TX-2D4F-HW8R,action-taken,removed,"Thank you. It was removed."
//! ab12 cd34 ef56 gh78,need-more-info,need-platform-account,
//! ```
//!
//! The header row is required (so columns cannot be swapped unseen).
//! Receipts are read as forgivingly as the follow-up page reads them;
//! `reply` and `text` may be empty. Every problem names its row, as the
//! spreadsheet numbers it (the header is row 1).

use super::{Answer, AnswerError, Reply, Status};
use crate::receipt::Receipt;

pub const HEADER: [&str; 4] = ["receipt", "status", "reply", "text"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsvError {
    #[error(
        "the first row must be the header `receipt,status,reply,text` (in that order, nothing else)"
    )]
    Header,
    #[error("row {0}: this is not CSV this tool can read (check its quotes)")]
    Unreadable(usize),
    #[error("row {0}: expected 4 columns (receipt,status,reply,text), found {1}")]
    Columns(usize, usize),
    #[error(
        "row {0}: the receipt is not a receipt code (16 letters and digits, XXXX-XXXX-XXXX-XXXX)"
    )]
    Receipt(usize),
    #[error(
        "row {0}: unknown status; use one of received, being-assessed, action-taken, outside-remit, need-more-info"
    )]
    Status(usize),
    #[error(
        "row {0}: unknown reply; leave it empty or use one of thanks, removed, police, not-illegal, not-found, need-platform-account, get-help, passed-abroad"
    )]
    Reply(usize),
    #[error("row {0}: {1}")]
    Text(usize, AnswerError),
}

/// Every row of `input`, or the first problem found.
pub fn read(input: &[u8]) -> Result<Vec<(Receipt, Answer)>, CsvError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut rows = r.byte_records().enumerate();
    match rows.next() {
        Some((_, Ok(h)))
            if h.iter()
                .map(|c| c.trim_ascii())
                .eq(HEADER.map(str::as_bytes)) => {}
        _ => return Err(CsvError::Header),
    }
    let mut out = Vec::new();
    for (i, row) in rows {
        let n = i + 1;
        let row = row.map_err(|_| CsvError::Unreadable(n))?;
        if row.iter().all(|c| c.trim_ascii().is_empty()) {
            continue; // a blank line a spreadsheet left
        }
        if row.len() != HEADER.len() {
            return Err(CsvError::Columns(n, row.len()));
        }
        let cell = |c: usize| std::str::from_utf8(&row[c]).map_err(|_| CsvError::Unreadable(n));
        let receipt = Receipt::parse(cell(0)?).ok_or(CsvError::Receipt(n))?;
        let status = Status::from_id(cell(1)?.trim()).ok_or(CsvError::Status(n))?;
        let reply = match cell(2)?.trim() {
            "" => None,
            id => Some(Reply::from_id(id).ok_or(CsvError::Reply(n))?),
        };
        let answer = Answer::new(status, reply, cell(3)?).map_err(|e| CsvError::Text(n, e))?;
        out.push((receipt, answer));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_as_a_spreadsheet_writes_them() {
        let input = "receipt,status,reply,text\r\n\
            7k3m q9tx 2d4f hw8r,action-taken,removed,\"Line one,\r\nline \"\"two\"\"\"\r\n\
            ,,,\r\n\
            0000-1111-2222-3333, received ,,\r\n";
        let rows = read(input.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0.expose(), "7K3M-Q9TX-2D4F-HW8R");
        assert_eq!(rows[0].1.status(), Status::ActionTaken);
        assert_eq!(rows[0].1.reply(), Some(Reply::Removed));
        assert_eq!(rows[0].1.text(), "Line one,\nline \"two\"");
        assert_eq!(rows[1].1.status(), Status::Received);
        assert_eq!(rows[1].1.reply(), None);
        assert_eq!(rows[1].1.text(), "");
    }

    #[test]
    fn problems_name_their_row() {
        let h = "receipt,status,reply,text\n";
        let ok = "0000-1111-2222-3333,received,,\n";
        for (body, want) in [
            ("receipt,reply,status,text\n", CsvError::Header),
            ("", CsvError::Header),
            (
                &format!("{h}{ok}0000-1111-2222,received,,\n")[..],
                CsvError::Receipt(3),
            ),
            (
                &format!("{h}0000-1111-2222-3333,done,,\n"),
                CsvError::Status(2),
            ),
            (
                &format!("{h}{ok}{ok}0000-1111-2222-3333,received,bye,\n"),
                CsvError::Reply(4),
            ),
            (
                &format!("{h}0000-1111-2222-3333,received\n"),
                CsvError::Columns(2, 2),
            ),
            (
                &format!("{h}0000-1111-2222-3333,received,,{}\n", "x".repeat(1001)),
                CsvError::Text(2, AnswerError::TextTooLong),
            ),
        ] {
            assert_eq!(read(body.as_bytes()).err(), Some(want), "{body:?}");
        }
    }
}
