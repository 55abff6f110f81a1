//! Writing the planned park through the services, as a user of the API would: every record obeys every rule by
//! construction (a plan that broke one would fail here with that rule's error).

use chrono::{Days, NaiveDate};
use entity::{
    enums::{BlockerCategory, BlockerStatus, CapitalOrigin, FollowUpKind, IncubationStage, PartnerKind},
    money::yuan_of_wan,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{
    LEADERS, Summary,
    plan::{Dates, Plan, ProjectPlan, SURNAMES, UNITS, d},
};
use crate::service::{
    Actor, Db, blockers, companies,
    follow_ups::{self, NextStep},
    funds,
    history::StageMove,
    incubation,
    input::{Day, Dollars, Money, Name, Note, Place, Short, email, phone},
    outreach, partners,
    partners::LongNote,
    projects::{self, Origin, Unit},
    visits::{self, Purpose, Summary as VisitSummary},
};

mod bureau;

use bureau::{write_above_size, write_people, write_support_funds, write_targets};

/// Ids of what was written, by the plan's index.
struct Ids {
    companies: Vec<i64>,
    partners: Vec<i64>,
    visits: Vec<i64>,
    outreach: Vec<i64>,
}

/// Writes the plan; answers how much of each was written.
pub(super) async fn write(db: &impl Db, plan: Plan) -> anyhow::Result<Summary> {
    let actor = Actor::system("demo");
    let mut r = Dates(ChaCha8Rng::seed_from_u64(20_231_231));
    let companies = write_companies(db, &actor, &plan).await?;
    let staff = write_people(db).await?;
    let ids = Ids {
        partners: write_partners(db).await?,
        visits: write_visits(db, (&actor, &staff), &plan, &companies).await?,
        outreach: write_outreach(db, (&actor, &staff), &plan, &companies).await?,
        companies,
    };
    let mut project_ids = Vec::with_capacity(plan.projects.len());
    for (i, pr) in plan.projects.iter().enumerate() {
        project_ids.push(write_project(db, &actor, &mut r, (i, pr), (&ids, &staff)).await?);
    }
    link_visits(db, &plan, &ids.visits, &project_ids).await?;
    let blockers = write_blockers(db, &actor, &mut r, &plan, &project_ids).await?;
    let candidates = write_incubation(db, (&actor, &staff), &mut r, &ids.companies).await?;
    write_targets(db).await?;
    write_support_funds(db, &ids.companies).await?;
    write_above_size(db).await?;
    Ok(Summary {
        companies: ids.companies.len(),
        projects: project_ids.len(),
        visits: ids.visits.len(),
        outreach: ids.outreach.len(),
        blockers,
        candidates,
    })
}

async fn write_companies(db: &impl Db, actor: &Actor, plan: &Plan) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(plan.companies.len());
    for (i, c) in plan.companies.iter().enumerate() {
        let company = companies::NewCompany {
            industry: Some(Short::parse("industry", c.industry)?),
            province: Some(Place::parse("province", c.province)?),
            city: Some(Place::parse("city", c.city)?),
            ..companies::NewCompany::named(Name::parse("name", &c.name)?)
        };
        let id = companies::create(db, company).await?.id;
        let contact = companies::NewContact {
            name: Short::parse("name", &format!("{}经理", SURNAMES[i % SURNAMES.len()]))?,
            title: Some(Short::parse("title", "投资发展部经理")?),
            phone: phone("phone", Some(&format!("138{:08}", 10_000_000 + i * 7919 % 89_999_999)))?,
            email: email("email", Some(&format!("contact{}@example.com", i + 1)))?,
            notes: None,
        };
        companies::create_contact(db, actor, id, contact).await?;
        ids.push(id);
    }
    Ok(ids)
}

async fn write_partners(db: &impl Db) -> anyhow::Result<Vec<i64>> {
    let partners = [
        (
            "深圳市低碳产业投资商会",
            PartnerKind::ChamberOfCommerce,
            d(2024, 4, 18),
            "签订战略合作协议,开展委托招商",
        ),
        (
            "苏州汇智招商咨询有限公司",
            PartnerKind::Agency,
            d(2023, 3, 10),
            "委托招商协议",
        ),
        (
            "浙江省温州商会",
            PartnerKind::ChamberOfCommerce,
            d(2023, 9, 1),
            "合作备忘录",
        ),
    ];
    let mut ids = Vec::new();
    for (name, kind, date, notes) in partners {
        let p = partners::NewPartner {
            name: Name::parse("name", name)?,
            kind,
            agreement_date: Some(Day::parse("agreement_date", date)?),
            notes: Some(LongNote::parse("notes", notes)?),
        };
        ids.push(partners::create(db, p).await?.id);
    }
    Ok(ids)
}

/// Visits, each owned by a staffer in turn.
async fn write_visits(
    db: &impl Db,
    (actor, staff): (&Actor, &[i64]),
    plan: &Plan,
    company_ids: &[i64],
) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(plan.visits.len());
    for (i, v) in plan.visits.iter().enumerate() {
        let visit = visits::NewVisit {
            visit_date: Day::parse("visit_date", v.date)?,
            headcount: v.headcount.into(),
            company_ids: v.companies.iter().map(|&c| company_ids[c]).collect(),
            project_ids: Vec::new(),
            receiving_leaders: Some(vec![v.leader.to_owned()]),
            staff: Some(vec![UNITS[v.headcount as usize % UNITS.len()].to_owned()]),
            purpose: Some(Purpose::parse("purpose", "考察园区投资环境,洽谈项目合作")?),
            summary: Some(VisitSummary::parse(
                "summary",
                "介绍园区产业政策与配套,企业表达投资意向",
            )?),
            owner_id: Some(staff[i % staff.len()]),
        };
        ids.push(visits::create(db, actor, visit).await?.visit.id);
    }
    Ok(ids)
}

/// Outreach activities, each owned by a staffer in turn.
async fn write_outreach(
    db: &impl Db,
    (actor, staff): (&Actor, &[i64]),
    plan: &Plan,
    company_ids: &[i64],
) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(plan.outreach.len());
    for (i, o) in plan.outreach.iter().enumerate() {
        let activity = outreach::NewOutreach {
            kind: o.kind,
            city: Place::parse("city", o.city)?,
            start_date: o.start,
            end_date: Some(o.end),
            leading_official: Some(Short::parse("leading_official", o.leader)?),
            participants: Some(vec!["招商一局".into(), "招商二局".into()]),
            company_ids: o.companies.iter().map(|&c| company_ids[c]).collect(),
            notes: Some(VisitSummary::parse(
                "notes",
                &format!("赴{}开展招商活动,走访重点企业", o.city),
            )?),
            owner_id: Some(staff[i % staff.len()]),
        };
        ids.push(outreach::create(db, actor, activity).await?.outreach.id);
    }
    Ok(ids)
}

/// A project with its history, then its follow-ups and fund arrivals.
async fn write_project(
    db: &impl Db,
    actor: &Actor,
    r: &mut Dates,
    (i, pr): (usize, &ProjectPlan),
    (ids, staff): (&Ids, &[i64]),
) -> anyhow::Result<i64> {
    let &(stage, occurred_on, _) = pr.events.first().expect("every demo project has events");
    let new = projects::NewProject {
        name: Name::parse("name", &pr.name)?,
        company_id: ids.companies[pr.company],
        stage,
        occurred_on: Day::parse("occurred_on", occurred_on)?,
        note: None,
        industry: Some(Short::parse("industry", pr.industry)?),
        origin: Origin {
            source: Some(pr.source),
            visit: pr.source_visit.map(|v| ids.visits[v]),
            outreach: pr.source_outreach.map(|o| ids.outreach[o]),
            partner: pr.source_partner.map(|p| ids.partners[p]),
        },
        agreed_investment: pr.agreed_wan.map(|w| Money::yuan(yuan_of_wan(w))),
        land_mu: pr.major.then(|| r.int(20, 300) as f64),
        is_major: pr.major,
        capital_origin: origin_of(i),
        contact_leader: Some(Short::parse("contact_leader", LEADERS[i % LEADERS.len()])?),
        contact_leader_id: None,
        // The staffer of the unit responsible for it owns it.
        owner_id: Some(staff[i % UNITS.len()]),
        team_members: Vec::new(),
        responsible_unit: Some(Unit::parse("responsible_unit", UNITS[i % UNITS.len()])?),
        team: Some(Unit::parse("team", &format!("{}专班", pr.industry))?),
        notes: None,
    };
    let id = projects::create(db, actor, new).await?.project.id;
    for &(stage, on, reason) in &pr.events[1..] {
        let step = StageMove {
            stage,
            occurred_on: Day::parse("occurred_on", on)?,
            note: None,
            reason: Note::parse_opt("reason", reason)?,
            version: None,
        };
        projects::move_stage(db, actor, id, step)
            .await
            .map_err(|e| anyhow::anyhow!("demo project {} breaks a stage rule: {e}", pr.name))?;
    }
    write_follow_ups(db, actor, r, id, pr).await?;
    write_funds(db, r, id, pr, origin_of(i)).await?;
    Ok(id)
}

/// Follow-ups between the lead and a little after the latest event.
async fn write_follow_ups(db: &impl Db, actor: &Actor, r: &mut Dates, id: i64, pr: &ProjectPlan) -> anyhow::Result<()> {
    let (lead, last) = (pr.lead_date(), pr.events.last().expect("events").1);
    let until = (last + Days::new(45)).min(d(2024, 12, 31));
    for _ in 0..r.int(1, 4) {
        let on = r.between(lead, until);
        let kind = r.pick(&[FollowUpKind::Meeting, FollowUpKind::Call, FollowUpKind::SiteVisit]);
        let next = r.after(on, 7, 30);
        let note = r.pick(&[
            "与企业高层会谈,了解投资计划",
            "电话沟通项目进展",
            "陪同企业实地考察厂房",
        ]);
        let next_step = r.pick(&["报送项目需求清单", "协调用地方案", "安排领导会见"]);
        let f = follow_ups::NewFollowUp {
            occurred_on: Day::parse("occurred_on", on)?,
            kind,
            note: Note::parse("note", note)?,
            next_step: Some(NextStep::parse("next_step", next_step)?),
            next_date: Some(Day::parse("next_date", next)?),
        };
        follow_ups::create(db, actor, id, f).await?;
    }
    Ok(())
}

/// A few projects in every dozen are foreign-funded (外资, 港澳台资).
fn origin_of(i: usize) -> CapitalOrigin {
    match i % 12 {
        2 | 5 => CapitalOrigin::Foreign,
        10 => CapitalOrigin::HongKongMacaoTaiwan,
        _ => CapitalOrigin::Domestic,
    }
}

/// The dollars near `yuan`, to the hundred, at a rate of the month (about where the central parity stood in 2023–2024).
fn dollars_for(yuan: i64, on: NaiveDate) -> Dollars {
    use chrono::Datelike;
    let rate_e4 = if on.year() < 2024 { 69_000 } else { 70_900 } + i64::from(on.month()) * 40;
    // Ledgers give dollars to the hundred (两位小数的万美元).
    let hundreds = (yuan * 100 / rate_e4).max(1);
    Dollars {
        cents: hundreds * 10_000,
        rate_e4,
    }
}

/// Funds arrive after landing, a share of the agreed investment at a time; foreign capital in dollars.
async fn write_funds(
    db: &impl Db,
    r: &mut Dates,
    id: i64,
    pr: &ProjectPlan,
    origin: CapitalOrigin,
) -> anyhow::Result<()> {
    use entity::enums::ProjectStage;
    let (Some(landed), Some(wan)) = (pr.reached(ProjectStage::Landed), pr.agreed_wan) else {
        return Ok(());
    };
    let mut on = landed;
    for _ in 0..r.int(1, 3) {
        on = r.after(on, 20, 120);
        if on > d(2024, 12, 31) {
            break;
        }
        let yuan = wan * r.int(8, 25) * 100;
        let dollars = origin.is_foreign().then(|| dollars_for(yuan, on));
        let f = funds::NewFundArrival {
            arrived_on: Day::parse("arrived_on", on)?,
            capital_origin: Some(origin),
            amount: dollars.is_none().then_some(Money::yuan(yuan)),
            dollars,
            note: Some(Note::parse("note", "企业注册资本金到位")?),
        };
        funds::create(db, id, f).await?;
    }
    Ok(())
}

/// The projects each visit is linked to (known only once the projects are written).
async fn link_visits(db: &impl Db, plan: &Plan, visit_ids: &[i64], project_ids: &[i64]) -> anyhow::Result<()> {
    for (v, planned) in plan.visits.iter().enumerate() {
        if planned.projects.is_empty() {
            continue;
        }
        let current = visits::get(db, visit_ids[v]).await?;
        let changes = visits::VisitChanges {
            version: current.visit.version,
            visit_date: None,
            headcount: None,
            company_ids: None,
            project_ids: Some(planned.projects.iter().map(|&p| project_ids[p]).collect()),
            receiving_leaders: None,
            staff: None,
            purpose: Default::default(),
            summary: Default::default(),
            owner_id: Default::default(),
        };
        visits::update(db, visit_ids[v], changes).await?;
    }
    Ok(())
}

/// Kinds of blockers: category, title, responsible unit, how it was solved.
const CATEGORIES: [(BlockerCategory, &str, &str, &str); 6] = [
    (
        BlockerCategory::Funds,
        "项目融资缺口",
        "财政局",
        "协调银行授信,落实贷款",
    ),
    (
        BlockerCategory::Land,
        "用地指标未落实",
        "自然资源局",
        "调剂用地指标,完成供地",
    ),
    (
        BlockerCategory::Recruitment,
        "技术工人招聘困难",
        "人社局",
        "组织专场招聘会",
    ),
    (
        BlockerCategory::Facilities,
        "水电气配套未到位",
        "住建局",
        "协调供电公司完成接入",
    ),
    (
        BlockerCategory::Approvals,
        "环评审批进度慢",
        "行政审批局",
        "开辟绿色通道,完成审批",
    ),
    (
        BlockerCategory::Other,
        "员工子女入学问题",
        "教育局",
        "协调辖区学校解决入学",
    ),
];

/// A batch of blockers: raised from, raised to, how many, resolved from and to (none: still open).
type Batch = (NaiveDate, NaiveDate, usize, Option<(NaiveDate, NaiveDate)>);

/// Blockers: 2024-H1 resolves 206 of them (30 raised in late 2023, 176 raised in the half-year).
fn blocker_batches() -> [Batch; 7] {
    [
        (
            d(2023, 1, 3),
            d(2023, 10, 31),
            140,
            Some((d(2023, 1, 10), d(2023, 12, 31))),
        ),
        (
            d(2023, 9, 1),
            d(2023, 12, 20),
            30,
            Some((d(2024, 1, 2), d(2024, 3, 29))),
        ),
        (
            d(2024, 1, 2),
            d(2024, 5, 31),
            176,
            Some((d(2024, 1, 5), d(2024, 6, 30))),
        ),
        (
            d(2024, 3, 1),
            d(2024, 6, 28),
            40,
            Some((d(2024, 7, 1), d(2024, 11, 30))),
        ),
        (d(2024, 4, 1), d(2024, 6, 28), 12, None),
        (
            d(2024, 7, 1),
            d(2024, 11, 30),
            35,
            Some((d(2024, 7, 10), d(2024, 12, 31))),
        ),
        (d(2024, 9, 1), d(2024, 12, 20), 25, None),
    ]
}

async fn write_blockers(
    db: &impl Db,
    actor: &Actor,
    r: &mut Dates,
    plan: &Plan,
    project_ids: &[i64],
) -> anyhow::Result<usize> {
    let mut written = 0;
    for (from, to, n, resolved) in blocker_batches() {
        for k in 0..n {
            let opened = r.between(from, to);
            let alive: Vec<usize> = (0..plan.projects.len())
                .filter(|&p| plan.projects[p].lead_date() <= opened)
                .collect();
            let project = r.pick(&alive);
            let (category, title, unit, fix) = CATEGORIES[written % CATEGORIES.len()];
            let resolved_on = resolved.map(|(a, b)| r.between(a.max(opened), b.max(opened)));
            let status = match resolved_on {
                Some(_) => BlockerStatus::Resolved,
                None if k % 2 == 0 => BlockerStatus::InProgress,
                None => BlockerStatus::Open,
            };
            let b = blockers::NewBlocker {
                title: Name::parse("title", title)?,
                category,
                owner_unit: Some(Unit::parse("owner_unit", unit)?),
                assigned_leader: Some(Short::parse("assigned_leader", LEADERS[(k + project) % LEADERS.len()])?),
                opened_on: Some(opened),
                due_date: Some(opened + Days::new(30)),
                status: Some(status),
                resolution: resolved_on
                    .map(|_| VisitSummary::parse("resolution", fix))
                    .transpose()?,
                resolved_on,
            };
            blockers::create(db, actor, project_ids[project], b).await?;
            written += 1;
        }
    }
    Ok(written)
}

/// Planned incubation histories: cohort year and (stage, date, reason) steps.
type Candidates = Vec<(i32, Vec<(IncubationStage, NaiveDate, Option<&'static str>)>)>;

/// High-tech incubation: the 2024 cohort of 5 taken in during 2024-H1; 3 of the 2023 cohort applied, approved and
/// filed in 2024-H1.
fn plan_incubation(r: &mut Dates) -> Candidates {
    use IncubationStage::*;
    let mut plans: Candidates = Vec::new();
    for k in 0..4 {
        let mut steps = vec![(Cultivating, r.between(d(2023, 3, 1), d(2023, 3, 31)), None)];
        if k < 3 {
            steps.push((Applied, r.between(d(2024, 4, 8), d(2024, 4, 26)), None));
            steps.push((Approved, r.between(d(2024, 6, 3), d(2024, 6, 14)), None));
            steps.push((Filed, r.between(d(2024, 6, 17), d(2024, 6, 28)), None));
        } else {
            steps.push((
                Failed,
                r.between(d(2023, 11, 1), d(2023, 11, 30)),
                Some("研发费用占比不足"),
            ));
        }
        plans.push((2023, steps));
    }
    for k in 0..5 {
        let mut steps = vec![(Cultivating, r.between(d(2024, 2, 1), d(2024, 3, 29)), None)];
        if k < 2 {
            steps.push((Applied, r.between(d(2024, 9, 2), d(2024, 9, 27)), None));
        }
        plans.push((2024, steps));
    }
    plans
}

/// Incubation candidates, each owned by a staffer in turn.
async fn write_incubation(
    db: &impl Db,
    (actor, staff): (&Actor, &[i64]),
    r: &mut Dates,
    company_ids: &[i64],
) -> anyhow::Result<usize> {
    let plans = plan_incubation(r);
    for (k, (cohort, steps)) in plans.iter().enumerate() {
        let (stage, on, _) = steps[0];
        let new = incubation::NewCandidate {
            company_id: company_ids[(k * 7 + 3) % company_ids.len()],
            cohort_year: (*cohort).into(),
            stage: Some(stage),
            occurred_on: Day::parse("occurred_on", on)?,
            note: None,
            notes: None,
            owner_id: Some(staff[k % staff.len()]),
        };
        let id = incubation::create(db, actor, new).await?.candidate.id;
        for &(stage, on, reason) in &steps[1..] {
            let step = StageMove {
                stage,
                occurred_on: Day::parse("occurred_on", on)?,
                note: None,
                reason: Note::parse_opt("reason", reason)?,
                version: None,
            };
            incubation::move_stage(db, actor, id, step).await?;
        }
    }
    Ok(plans.len())
}
