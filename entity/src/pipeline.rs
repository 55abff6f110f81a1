//! The pipeline engine: the rules of docs/DEFINITIONS.md for any ordered set of stages with one stage off to the side
//! (projects: lead … producing plus `dropped`; incubation: cultivating … filed plus `failed`).
//!
//! A pipeline's history is a list of dated events in the order they were recorded; everything else (the
//! current stage, the stage a project dropped from, the reach date of every stage) is derived from it.

use chrono::NaiveDate;

/// A stage set: the ordered stages and the one stage off to the side.
pub trait Stage: Copy + Eq + std::fmt::Debug + 'static {
    /// The pipeline stages in order.
    const ORDER: &'static [Self];
    /// The stage off to the side (dropped, failed); it has no rank.
    const OFF: Self;

    /// Position in [`Stage::ORDER`]; `None` for the off stage.
    fn rank(self) -> Option<usize> {
        Self::ORDER.iter().position(|s| *s == self)
    }

    /// The stage after this one; the last stage and the off stage answer themselves.
    fn next(self) -> Self {
        self.rank()
            .and_then(|r| Self::ORDER.get(r + 1))
            .copied()
            .unwrap_or(self)
    }
}

/// One dated event of a history, in recording order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event<S> {
    /// The stage moved to.
    pub stage: S,
    /// The calendar date the move happened.
    pub occurred_on: NaiveDate,
}

/// What kind of move a new event is, relative to the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// The first event of a history.
    Start,
    /// To a later stage (stages in between count as reached on the same date).
    Forward,
    /// To an earlier stage (an agreement cancelled).
    Backward,
    /// Off to the side (dropped, failed).
    Off,
    /// Back from the off stage to a stage at or after the one it left from.
    Reopen,
    /// Back from the off stage to a stage before the one it left from.
    ReopenBackward,
}

impl Move {
    /// Whether this move goes back in the pipeline (needs a reason and a leader or admin).
    pub fn is_backward(self) -> bool {
        matches!(self, Move::Backward | Move::ReopenBackward)
    }

    /// Whether a reason must be given for this move.
    pub fn needs_reason(self) -> bool {
        self.is_backward() || self == Move::Off
    }
}

/// Why a move breaks the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveError<S> {
    /// The new stage is the current stage.
    Unchanged(S),
    /// The new event is dated before the latest event of the history.
    BeforeLatest(NaiveDate),
    /// Backward moves and moves off to the side need a reason.
    ReasonRequired(Move),
    /// Backward moves need a leader or an admin.
    BackwardNotAllowed,
    /// A history cannot start off to the side.
    StartsOff,
}

/// The stage of the latest event; `None` for an empty history.
pub fn current<S: Stage>(history: &[Event<S>]) -> Option<S> {
    history.last().map(|e| e.stage)
}

/// The stage a history left from when it went off to the side, if it is off now.
pub fn off_from<S: Stage>(history: &[Event<S>]) -> Option<S> {
    if current(history)? != S::OFF {
        return None;
    }
    history.iter().rev().map(|e| e.stage).find(|s| *s != S::OFF)
}

/// Classifies a move to `next` against the history without looking at dates or reasons.
pub fn classify<S: Stage>(history: &[Event<S>], next: S) -> Result<Move, MoveError<S>> {
    let Some(now) = current(history) else {
        return if next == S::OFF {
            Err(MoveError::StartsOff)
        } else {
            Ok(Move::Start)
        };
    };
    if now == next {
        return Err(MoveError::Unchanged(now));
    }
    if next == S::OFF {
        return Ok(Move::Off);
    }
    let next_rank = next.rank().expect("only the off stage has no rank");
    if now == S::OFF {
        let left = off_from(history).and_then(Stage::rank).unwrap_or(0);
        return Ok(if next_rank < left {
            Move::ReopenBackward
        } else {
            Move::Reopen
        });
    }
    let now_rank = now.rank().expect("only the off stage has no rank");
    Ok(if next_rank > now_rank {
        Move::Forward
    } else {
        Move::Backward
    })
}

/// Checks a new event against the history and the rules of docs/DEFINITIONS.md; answers what kind of move it is.
pub fn check_move<S: Stage>(
    history: &[Event<S>],
    next: S,
    occurred_on: NaiveDate,
    has_reason: bool,
    may_move_back: bool,
) -> Result<Move, MoveError<S>> {
    let kind = classify(history, next)?;
    if let Some(latest) = history.iter().map(|e| e.occurred_on).max()
        && occurred_on < latest
    {
        return Err(MoveError::BeforeLatest(latest));
    }
    if kind.needs_reason() && !has_reason {
        return Err(MoveError::ReasonRequired(kind));
    }
    if kind.is_backward() && !may_move_back {
        return Err(MoveError::BackwardNotAllowed);
    }
    Ok(kind)
}

/// The reach date of every stage reached, in stage order: the earliest date of an event at that stage or any later
/// one (off events excluded). Events dated after `as_of` are ignored.
pub fn reach_dates<S: Stage>(history: &[Event<S>], as_of: Option<NaiveDate>) -> Vec<(S, NaiveDate)> {
    S::ORDER
        .iter()
        .enumerate()
        .filter_map(|(rank, stage)| {
            history
                .iter()
                .filter(|e| as_of.is_none_or(|d| e.occurred_on <= d))
                .filter(|e| e.stage.rank().is_some_and(|r| r >= rank))
                .map(|e| e.occurred_on)
                .min()
                .map(|d| (*stage, d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::ProjectStage::{self, *};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ev(stage: ProjectStage, on: &str) -> Event<ProjectStage> {
        Event {
            stage,
            occurred_on: d(on),
        }
    }

    #[test]
    fn skipped_stages_are_reached_on_the_same_date() {
        let h = [ev(Lead, "2024-01-05"), ev(Signed, "2024-02-01")];
        assert_eq!(
            reach_dates(&h, None),
            vec![
                (Lead, d("2024-01-05")),
                (Negotiating, d("2024-02-01")),
                (Signed, d("2024-02-01"))
            ]
        );
    }

    #[test]
    fn backward_and_dropped_keep_what_was_reached() {
        let h = [
            ev(Lead, "2024-01-05"),
            ev(Signed, "2024-02-01"),
            ev(Negotiating, "2024-03-01"),
            ev(Dropped, "2024-04-01"),
            ev(Signed, "2024-05-01"),
        ];
        assert_eq!(reach_dates(&h, None)[2], (Signed, d("2024-02-01")));
        assert_eq!(reach_dates(&h, Some(d("2024-01-31"))).len(), 1);
    }

    #[test]
    fn moves_are_classified() {
        let h = [ev(Lead, "2024-01-05"), ev(Signed, "2024-02-01")];
        assert_eq!(classify(&h, Landed), Ok(Move::Forward));
        assert_eq!(classify(&h, Lead), Ok(Move::Backward));
        assert_eq!(classify(&h, Signed), Err(MoveError::Unchanged(Signed)));
        assert_eq!(classify(&h, Dropped), Ok(Move::Off));
        let off = [
            ev(Lead, "2024-01-05"),
            ev(Signed, "2024-02-01"),
            ev(Dropped, "2024-02-03"),
        ];
        assert_eq!(off_from(&off), Some(Signed));
        assert_eq!(classify(&off, Signed), Ok(Move::Reopen));
        assert_eq!(classify(&off, Negotiating), Ok(Move::ReopenBackward));
        assert_eq!(classify(&[], Dropped), Err(MoveError::StartsOff));
    }

    #[test]
    fn dates_reasons_and_roles_are_checked() {
        let h = [ev(Lead, "2024-01-05")];
        assert_eq!(
            check_move(&h, Signed, d("2024-01-04"), false, false),
            Err(MoveError::BeforeLatest(d("2024-01-05")))
        );
        assert_eq!(check_move(&h, Signed, d("2024-01-05"), false, false), Ok(Move::Forward));
        assert_eq!(
            check_move(&h, Dropped, d("2024-01-06"), false, false),
            Err(MoveError::ReasonRequired(Move::Off))
        );
        let s = [ev(Lead, "2024-01-05"), ev(Signed, "2024-01-06")];
        assert_eq!(
            check_move(&s, Lead, d("2024-01-07"), true, false),
            Err(MoveError::BackwardNotAllowed)
        );
        assert_eq!(check_move(&s, Lead, d("2024-01-07"), true, true), Ok(Move::Backward));
    }
}
