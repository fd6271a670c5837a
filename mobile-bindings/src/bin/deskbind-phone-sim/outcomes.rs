//! How each simulated call ends: one outcome for every call (`--outcome`),
//! or a script per number (`--outcome-for NUMBER=OUTCOME[,OUTCOME...]`,
//! `--outcomes FILE`). A number's outcomes are used in turn, one per call
//! to it, the last one again once they run out: `busy,answered` is busy
//! the first time and answered on every retry. Numbers are matched in
//! E.164 as the dial command names them (`+4930...`); spaces, dashes,
//! dots and brackets in the script are ignored.
//!
//! The file has one number a line, then its outcomes, comma separated
//! (`+4930123456,busy,answered`); blank lines and `#` comments are
//! skipped, and so is a first line `number,outcome` (a CSV header).

use std::collections::HashMap;

use clap::ValueEnum;
use deskbind_mobile::wire::DialFailure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Outcome {
    Answered,
    Busy,
    #[value(alias = "no_answer")]
    NoAnswer,
    Rejected,
    #[value(alias = "invalid_number")]
    InvalidNumber,
    Error,
}

impl Outcome {
    /// How the call fails; `None` when it is answered.
    pub fn failure(self) -> Option<DialFailure> {
        match self {
            Self::Answered => None,
            Self::Busy => Some(DialFailure::Busy),
            Self::NoAnswer => Some(DialFailure::NoAnswer),
            Self::Rejected => Some(DialFailure::Rejected),
            Self::InvalidNumber => Some(DialFailure::InvalidNumber),
            Self::Error => Some(DialFailure::Error),
        }
    }
}

const OUTCOME_NAMES: &str = "answered, busy, no_answer, rejected, invalid_number, error";

/// One outcome by name (`no_answer` and `no-answer` alike).
pub fn parse_outcome(name: &str) -> Result<Outcome, String> {
    Outcome::from_str(name.trim(), true)
        .map_err(|_| format!("unknown outcome `{}` (one of {OUTCOME_NAMES})", name.trim()))
}

/// A number as the script names it, in the form the dial command uses.
fn parse_number(text: &str) -> Result<String, String> {
    let number: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = number.strip_prefix('+').unwrap_or_default();
    let valid = digits.len() >= 2
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(number)
    } else {
        Err(format!(
            "`{}` is not an E.164 number (+ and 2 to 15 digits, as the dial command names it)",
            text.trim()
        ))
    }
}

/// A number's outcomes, one per call to it.
pub type Entry = (String, Vec<Outcome>);

fn parse_outcomes<'a>(names: impl Iterator<Item = &'a str>) -> Result<Vec<Outcome>, String> {
    let outcomes = names.map(parse_outcome).collect::<Result<Vec<_>, _>>()?;
    if outcomes.is_empty() {
        return Err("no outcome given".into());
    }
    Ok(outcomes)
}

/// `--outcome-for NUMBER=OUTCOME[,OUTCOME...]`.
pub fn parse_assignment(arg: &str) -> Result<Entry, String> {
    let (number, outcomes) = arg
        .split_once('=')
        .ok_or_else(|| format!("`{arg}`: expected NUMBER=OUTCOME[,OUTCOME...]"))?;
    Ok((parse_number(number)?, parse_outcomes(outcomes.split(','))?))
}

/// The lines of an `--outcomes` file; an error names its line.
pub fn parse_file(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut lines_of: HashMap<String, usize> = HashMap::new();
    let mut first = true;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(',');
        let number = fields.next().unwrap_or_default();
        if std::mem::take(&mut first) && number.trim() == "number" {
            continue;
        }
        let at = |e: String| format!("line {line_no}: {e}");
        let number = parse_number(number).map_err(at)?;
        let outcomes = parse_outcomes(fields).map_err(at)?;
        if let Some(first) = lines_of.insert(number.clone(), line_no) {
            return Err(at(format!("{number} is scripted on line {first} already")));
        }
        entries.push((number, outcomes));
    }
    Ok(entries)
}

/// The outcomes to play, and how far each number's script has got.
#[derive(Debug)]
pub struct Outcomes {
    fallback: Outcome,
    scripts: HashMap<String, Vec<Outcome>>,
    calls: HashMap<String, usize>,
}

impl Outcomes {
    /// `fallback` for every number not scripted; later entries replace
    /// earlier ones for the same number.
    pub fn new(fallback: Outcome, entries: impl IntoIterator<Item = Entry>) -> Self {
        Self {
            fallback,
            scripts: entries.into_iter().collect(),
            calls: HashMap::new(),
        }
    }

    /// How many numbers have a script.
    pub fn scripted(&self) -> usize {
        self.scripts.len()
    }

    /// The outcome of the next call to `number`.
    pub fn next_for(&mut self, number: &str) -> Outcome {
        let Some(script) = self.scripts.get(number) else {
            return self.fallback;
        };
        let calls = self.calls.entry(number.to_owned()).or_default();
        let outcome = script
            .get(*calls)
            .or(script.last())
            .copied()
            .unwrap_or(self.fallback);
        *calls += 1;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_take_underscores_and_dashes() {
        assert_eq!(parse_outcome("no_answer"), Ok(Outcome::NoAnswer));
        assert_eq!(parse_outcome("no-answer"), Ok(Outcome::NoAnswer));
        assert_eq!(
            parse_outcome(" Invalid_Number "),
            Ok(Outcome::InvalidNumber)
        );
        let err = parse_outcome("engaged").unwrap_err();
        assert!(
            err.contains("`engaged`") && err.contains("no_answer"),
            "{err}"
        );
    }

    #[test]
    fn assignments_name_a_number_and_its_outcomes() {
        assert_eq!(
            parse_assignment("+49 30 1234-567=busy,answered"),
            Ok((
                "+49301234567".to_owned(),
                vec![Outcome::Busy, Outcome::Answered]
            ))
        );
        assert!(
            parse_assignment("+4930123")
                .unwrap_err()
                .contains("NUMBER=OUTCOME")
        );
        assert!(
            parse_assignment("030123=busy")
                .unwrap_err()
                .contains("E.164")
        );
        assert!(
            parse_assignment("+4930123=")
                .unwrap_err()
                .contains("unknown outcome")
        );
        assert!(parse_assignment("+4930123=busy,,answered").is_err());
    }

    #[test]
    fn files_skip_comments_blanks_and_a_header() {
        let text = "number,outcome\n\
            # the first calls\n\
            +4930111,answered\n\
            \n\
            +4930222, busy , answered   # a retry that answers\n";
        assert_eq!(
            parse_file(text),
            Ok(vec![
                ("+4930111".to_owned(), vec![Outcome::Answered]),
                (
                    "+4930222".to_owned(),
                    vec![Outcome::Busy, Outcome::Answered]
                ),
            ])
        );
    }

    #[test]
    fn file_errors_name_the_line() {
        let err = parse_file("+4930111,answered\n# fine\n+4930222,hung_up\n").unwrap_err();
        assert!(
            err.starts_with("line 3: unknown outcome `hung_up`"),
            "{err}"
        );
        let err = parse_file("+4930111\n").unwrap_err();
        assert_eq!(err, "line 1: no outcome given");
        let err = parse_file("0301234,busy\n").unwrap_err();
        assert!(
            err.starts_with("line 1: `0301234` is not an E.164"),
            "{err}"
        );
        let err = parse_file("+4930111,busy\n+49 30 111,answered\n").unwrap_err();
        assert_eq!(err, "line 2: +4930111 is scripted on line 1 already");
        // A header is only a header on the first line.
        assert!(parse_file("+4930111,busy\nnumber,outcome\n").is_err());
    }

    #[test]
    fn each_number_plays_its_outcomes_in_turn_then_repeats_the_last() {
        let entries = parse_file("+4930111,busy,no_answer,answered\n+4930222,rejected\n").unwrap();
        let mut outcomes = Outcomes::new(Outcome::Answered, entries);
        let played: Vec<Outcome> = (0..4).map(|_| outcomes.next_for("+4930111")).collect();
        assert_eq!(
            played,
            [
                Outcome::Busy,
                Outcome::NoAnswer,
                Outcome::Answered,
                Outcome::Answered
            ]
        );
        assert_eq!(outcomes.next_for("+4930222"), Outcome::Rejected);
        assert_eq!(outcomes.next_for("+4930222"), Outcome::Rejected);
        assert_eq!(outcomes.next_for("+4930999"), Outcome::Answered);
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let mut outcomes = Outcomes::new(
            Outcome::Busy,
            [
                ("+4930111".to_owned(), vec![Outcome::Busy]),
                ("+4930111".to_owned(), vec![Outcome::Error]),
            ],
        );
        assert_eq!(outcomes.scripted(), 1);
        assert_eq!(outcomes.next_for("+4930111"), Outcome::Error);
    }
}
