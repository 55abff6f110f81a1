//! Stage dates in a ledger row (洽谈时间, 签约时间 …; 申报时间, 认定时间 …): read in stage order, checked to run
//! forward, and compared with a stored history, whose later stages they extend. Projects and incubation candidates
//! share these rules as they share the pipeline engine.

use chrono::NaiveDate;
use entity::{
    enums::Label,
    pipeline::{Event, Stage, current, reach_dates},
};

use super::{Issue, Outcome, RowReader, layout::Key};
use crate::service::{
    AppResult,
    history::StageMove,
    input::{Day, Note},
};

/// A row's dated stages: the stage, its date, and the field it was read from; in stage order, the off stage last.
pub type Dated<S> = Vec<(S, NaiveDate, &'static str)>;

/// Reads the date of each stage's field (`fields` in stage order) and checks that they run forward.
pub fn read<S: Label, K: Key>(r: &mut RowReader<'_>, fields: &[(S, K)]) -> Dated<S> {
    let mut dates = Vec::new();
    for &(stage, key) in fields {
        if let Some(d) = r.date(key) {
            dates.push((stage, d, key));
        }
    }
    let mut latest: Option<(S, NaiveDate)> = None;
    for &(stage, d, key) in &dates {
        if let Some((before, at)) = latest
            && d < at
        {
            r.error_at(
                key,
                "dates_out_of_order",
                format!(
                    "时间节点前后颠倒:{}时间 {d} 早于{}时间 {at}",
                    stage.label(),
                    before.label()
                ),
            );
        }
        if latest.is_none_or(|(_, at)| d >= at) {
            latest = Some((stage, d));
        }
    }
    dates.into_iter().map(|(stage, d, key)| (stage, d, key.key())).collect()
}

/// The stages a row adds after a stored history, each checked against it; `None` (errors recorded) when a date
/// disagrees with a stage the history reached, comes before its latest event, or the record is off to the side
/// (dropped, failed). `what` names the record in messages (项目, 培育对象).
pub fn later<S: Stage + Label>(
    line: usize,
    dates: &Dated<S>,
    history: &[Event<S>],
    what: &str,
    out: &mut Outcome,
) -> Option<Vec<(S, NaiveDate)>> {
    let reached = reach_dates(history, None);
    let latest = history.iter().map(|e| e.occurred_on).max();
    let off = current(history) == Some(S::OFF);
    let mut moves = Vec::new();
    let mut ok = true;
    for &(stage, on, key) in dates {
        let stored_on = if stage == S::OFF {
            history.iter().rev().find(|e| e.stage == S::OFF).map(|e| e.occurred_on)
        } else {
            reached.iter().find(|(s, _)| *s == stage).map(|(_, d)| *d)
        };
        let error = match stored_on {
            Some(d) if d == on => None,
            Some(d) => Some((
                "date_conflict",
                format!("{}时间 {on} 与系统记录的 {d} 不一致", stage.label()),
            )),
            None if off => Some((
                "record_off",
                format!("该{what}在系统中已处于“{}”,不能再推进阶段", S::OFF.label()),
            )),
            None if latest.is_some_and(|l| on < l) => Some((
                "event_before_latest",
                format!(
                    "{}时间 {on} 早于系统中该{what}最近一条阶段记录的日期 {}",
                    stage.label(),
                    latest.unwrap_or(on)
                ),
            )),
            None => {
                moves.push((stage, on));
                None
            }
        };
        if let Some((code, message)) = error {
            out.error(Issue::at(
                line,
                out.column_named(key),
                Some(&on.to_string()),
                code,
                message,
            ));
            ok = false;
        }
    }
    if off && !dates.iter().any(|(s, ..)| *s == S::OFF) {
        out.warn(Issue::at(
            line,
            None,
            None,
            "off_in_system",
            format!("该{what}在系统中已处于“{}”,台账未标注,阶段未作更改", S::OFF.label()),
        ));
    }
    ok.then_some(moves)
}

/// The stage moves of dated stages as an import records them (note 台账导入); a move off to the side carries
/// `reason`.
pub fn moves<S: Stage>(
    dates: impl IntoIterator<Item = (S, NaiveDate)>,
    reason: Option<&Note>,
) -> AppResult<Vec<StageMove<S>>> {
    let note = Note::parse_opt("note", Some("台账导入"))?;
    dates
        .into_iter()
        .map(|(stage, on)| {
            Ok(StageMove {
                stage,
                occurred_on: Day::parse("occurred_on", on)?,
                note: note.clone(),
                reason: if stage == S::OFF { reason.cloned() } else { None },
                version: None,
            })
        })
        .collect()
}
