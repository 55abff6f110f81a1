//! The weekly summary in work chat: the week's key figures with the change against the week before, the week's
//! moves, the overdue blockers, the year so far and a link to the week's page — the e-mail's figures, shortened to
//! fit a chat message (the e-mail and its workbook carry every line).

use entity::{enums::Role, user, visible::Visible};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{Shared, shared};
use crate::chat::{self, Doc, Topic};

/// How many names or blockers a list shows before "and N more".
const FEW: usize = 5;

/// The change from `before` to `now`: `较上周 +2`, `较上周持平`.
fn change(now: &str, before: &str) -> String {
    match (now.parse::<Decimal>(), before.parse::<Decimal>()) {
        (Ok(n), Ok(b)) if n == b => "较上周持平".into(),
        (Ok(n), Ok(b)) if n > b => format!("较上周 +{}", (n - b).normalize()),
        (Ok(n), Ok(b)) => format!("较上周 {}", (n - b).normalize()),
        _ => "较上周 —".into(),
    }
}

/// The first few names joined, with how many more there are.
fn few(names: &[String]) -> String {
    let shown = names.iter().take(FEW).cloned().collect::<Vec<_>>().join("、");
    match names.len() {
        n if n > FEW => format!("{shown}等{n}个"),
        _ => shown,
    }
}

/// The week's page on 统计分析, where the UI's address is known.
pub(super) fn page(s: &Shared, web: Option<&str>) -> Option<String> {
    web.map(|w| {
        format!(
            "{}/analytics?period={}#province-map",
            w.trim_end_matches('/'),
            s.week.label
        )
    })
}

/// The summary of `s` as a chat message; with `leader`, theirs (their projects too).
pub(super) fn doc(s: &Shared, leader: Option<(i64, &str)>, web: Option<&str>) -> Doc {
    let mut d = Doc::new(match leader {
        Some((_, name)) => format!("{}·{name}", s.subject),
        None => s.subject.clone(),
    });
    if let Some(w) = &s.within {
        d.line(format!("统计范围:{w}"));
    }
    // The rows that are nothing this week and the week before, and nothing so far this year, say nothing in a chat.
    let zero = |v: &str| v.parse::<Decimal>().is_ok_and(|d| d.is_zero());
    d.heading("本周主要指标");
    let mut quiet = 0;
    for (r, l) in s.week_rows.iter().zip(&s.last_rows) {
        if zero(&r.value) && zero(&l.value) {
            quiet += 1;
            continue;
        }
        d.line(format!("{}:{}({})", r.label, r.value, change(&r.value, &l.value)));
    }
    if quiet > 0 {
        d.line(format!("其余{quiet}项指标本周与上周均为0"));
    }
    d.heading("本周项目进展");
    let moves: Vec<_> = s.news.iter().filter(|(_, names)| !names.is_empty()).collect();
    for (label, names) in &moves {
        d.line(format!("{label}:{}", few(names)));
    }
    if moves.is_empty() {
        d.line("本周没有新签约、落地、开工或投产的项目");
    }
    if let Some((id, _)) = leader {
        let mine: Vec<_> = s
            .projects
            .iter()
            .filter(|(l, _)| *l == Some(id))
            .map(|(_, p)| p)
            .collect();
        d.heading(format!("您联系的项目({}个)", mine.len()));
        if mine.is_empty() {
            d.line("暂无在推进的联系项目");
        }
        for p in mine.iter().take(FEW) {
            let quiet = p
                .days_since_follow_up
                .map_or("未跟进".into(), |n| format!("距上次跟进{n}天"));
            d.line(format!(
                "{}:{},{quiet},未解决难题{}个",
                p.name, p.stage, p.open_blockers
            ));
        }
    }
    let overdue: Vec<_> = s.open.iter().filter(|b| b.overdue).collect();
    d.heading(format!("逾期未解决的难题({}个)", overdue.len()));
    for b in overdue.iter().take(FEW) {
        d.line(format!(
            "{}:{}(包联领导 {},逾期{}天)",
            b.project, b.title, b.leader, b.days_overdue
        ));
    }
    match overdue.len() {
        0 => {
            d.line("无");
        }
        n if n > FEW => {
            d.line(format!("另有{}个,见完整周报", n - FEW));
        }
        _ => {}
    }
    // The year so far last: where a message must be cut, the week's news stays and the link covers the rest.
    d.heading("年初至今(含年度目标完成情况)");
    for r in s.ytd_rows.iter().filter(|r| !zero(&r.value)) {
        d.line(format!("{}:{}(同比 {})", r.label, r.value, r.yoy));
    }
    for t in &s.targets {
        d.line(t.clone());
    }
    d.link("查看本周统计与客商来源地图", page(s, web));
    d
}

/// Every channel's weekly summary for the week before `as_of`: the park's (or a leader's) to a group, each
/// subscribed leader's own through an application to their chat user id. Figures are computed once per scope.
pub(super) async fn messages(
    db: &DatabaseConnection,
    (as_of, stale_days): (chrono::NaiveDate, i64),
    web: Option<&str>,
) -> anyhow::Result<Vec<chat::Message>> {
    let mut computed: Vec<(Visible, Shared)> = Vec::new();
    let mut out = Vec::new();
    let week = super::last_full_week(as_of).label;
    // The leaders in chat are read once, for the first application that carries the summary.
    let mut leaders = None;
    for c in chat::channels(db).await? {
        let mut readers: Vec<(String, Option<user::Model>, Vec<String>)> = Vec::new();
        for t in chat::topics(&c) {
            match t {
                Topic::Weekly if c.kind.personal() => {
                    if leaders.is_none() {
                        leaders = Some(leaders_in_chat(db).await?);
                    }
                    for u in leaders.iter().flatten().cloned() {
                        let to = vec![u.chat_user_id.clone().unwrap_or_default()];
                        readers.push((u.id.to_string(), Some(u), to));
                    }
                }
                Topic::Weekly => readers.push(("park".into(), None, Vec::new())),
                Topic::WeeklyOf(id) if !c.kind.personal() => {
                    if let Some(u) = user::Entity::find_by_id(id).one(db).await?.filter(|u| !u.disabled) {
                        readers.push((u.id.to_string(), Some(u), Vec::new()));
                    }
                }
                _ => {}
            }
        }
        for (who, u, to) in readers {
            let visible = match &u {
                Some(u) => Visible::of_user(db, u).await?,
                None => Visible::All,
            };
            let at = match computed.iter().position(|(v, _)| *v == visible) {
                Some(at) => at,
                None => {
                    let within = match &u {
                        Some(u) => visible.describe(db, u).await?,
                        None => None,
                    };
                    computed.push((
                        visible.clone(),
                        shared(db, (as_of, stale_days), (&visible, within)).await?,
                    ));
                    computed.len() - 1
                }
            };
            let leader = u.as_ref().map(|u| (u.id, u.display_name.as_str()));
            out.push(chat::Message {
                key: format!("weekly:{week}:{who}"),
                kind: "weekly_report".into(),
                channel: c.clone(),
                to,
                doc: doc(&computed[at].1, leader, web),
            });
        }
    }
    Ok(out)
}

/// The whole park's summary of the week before `as_of` as a group robot of `kind` receives it.
pub async fn preview(
    db: &DatabaseConnection,
    (as_of, stale_days): (chrono::NaiveDate, i64),
    web: Option<&str>,
    kind: entity::enums::ChannelKind,
) -> anyhow::Result<Vec<chat::Part>> {
    let s = shared(db, (as_of, stale_days), (&Visible::All, None)).await?;
    Ok(chat::render::render(kind, &doc(&s, None, web)))
}

/// The leaders who get the weekly report and linked their chat user id.
async fn leaders_in_chat(db: &DatabaseConnection) -> anyhow::Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Leader))
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::WeeklyReport.eq(true))
        .filter(user::Column::ChatUserId.is_not_null())
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn changes_against_last_week() {
        assert_eq!(super::change("5", "3"), "较上周 +2");
        assert_eq!(super::change("1.5", "4"), "较上周 -2.5");
        assert_eq!(super::change("7", "7"), "较上周持平");
        assert_eq!(super::change("—", "7"), "较上周 —");
    }
}
