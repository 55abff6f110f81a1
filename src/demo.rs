//! The demo park (DESIGN §9): a deterministic 2023–2024 ledger whose 2024-H1 figures, computed by the rules of
//! DESIGN §3, are the ones of the bureau's half-year summary: 15 outreach trips, the strategic agreement with
//! 深圳市低碳产业投资商会, 42 visits with 278 person-times, 25 projects reaching negotiation, 9 signed, 5 landed
//! (万维无人机 among them), 5 started (福美新材料生产基地 among them), 3 producing (华元通, 恒丰厨具 …), 58 major
//! projects with 98亿元 agreed investment, over 200 blockers resolved, 5 enterprises taken into high-tech cultivation,
//! 3 applied, 3 approved and filed.
//!
//! Everything is planned in memory first (with a seeded ChaCha generator, so the same command gives the same data),
//! checked against the pipeline rules, then written in one transaction.

use crate::service::{accounts, input::Short};
use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::{
    blocker, company, contact,
    enums::{
        BlockerCategory, BlockerStatus, FollowUpKind, IncubationStage, OutreachKind, PartnerKind, ProjectSource,
        ProjectStage, TargetMetric,
    },
    follow_up, fund_arrival, incubation_candidate, incubation_event, outreach, outreach_company, partner,
    pipeline::{self, Event, Stage},
    project, stage_event, target, visit, visit_company, visit_project,
};
use rand::{Rng, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, TransactionTrait,
};

/// What the demo wrote.
#[derive(Debug, Default)]
pub struct Summary {
    /// Companies.
    pub companies: usize,
    /// Projects.
    pub projects: usize,
    /// Visits.
    pub visits: usize,
    /// Outreach activities.
    pub outreach: usize,
    /// Blockers.
    pub blockers: usize,
    /// Incubation candidates.
    pub candidates: usize,
}

/// The contact leaders (联系领导) of the demo park.
pub const LEADERS: [&str; 5] = ["王建国", "李明", "张华", "陈静", "刘洋"];

const INDUSTRIES: [(&str, [&str; 4]); 7] = [
    ("新材料", ["高性能复合材料", "特种涂料", "碳纤维制品", "新型建材"]),
    ("智能制造", ["智能装备", "工业机器人", "精密模具", "数控机床"]),
    ("低空经济", ["无人机整机", "航空零部件", "飞控系统", "通航运营"]),
    ("新能源", ["储能电池", "光伏组件", "氢能装备", "充电设施"]),
    ("电子信息", ["半导体封测", "智能终端", "传感器", "光电显示"]),
    ("生物医药", ["医疗器械", "生物制剂", "体外诊断", "中药饮片"]),
    ("现代农业", ["农产品加工", "智慧农业", "冷链物流", "种业研发"]),
];

const ORIGINS: [(&str, &str); 15] = [
    ("广东", "深圳"),
    ("广东", "东莞"),
    ("广东", "广州"),
    ("江苏", "南京"),
    ("江苏", "苏州"),
    ("浙江", "杭州"),
    ("浙江", "宁波"),
    ("北京", "北京"),
    ("天津", "天津"),
    ("上海", "上海"),
    ("山东", "青岛"),
    ("福建", "厦门"),
    ("湖北", "武汉"),
    ("四川", "成都"),
    ("安徽", "合肥"),
];

#[rustfmt::skip]
const BRANDS: [&str; 90] = [
    "瑞丰", "华达", "恒泰", "鑫源", "中科", "天成", "博远", "金石", "宏图", "东方", "凯越", "联创", "中磊", "广和", "新锐",
    "晟达", "鼎盛", "卓越", "远航", "蓝海", "国泰", "信诚", "通宇", "弘毅", "汇川", "星辰", "安捷", "同创", "嘉禾", "德胜",
    "正阳", "永信", "明辉", "云帆", "海纳", "科瑞", "佳和", "润泽", "长风", "北辰", "启航", "华瑞", "泰和", "丰源", "盛世",
    "宝德", "金诚", "锦程", "汇智", "天合", "众联", "银河", "华腾", "新宇", "中天", "万和", "聚能", "恒信", "欣达", "昌盛",
    "诺威", "普华", "鸿运", "益通", "朗科", "优创", "康泰", "伟业", "兴邦", "立德", "华康", "亿科", "中盛", "捷达", "沃德",
    "骏马", "瀚海", "凌云", "旭日", "盈科", "创维", "源通", "精工", "宇航", "绿源", "智远", "祥和", "怡丰", "长城", "紫光",
];

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
const UNITS: [&str; 4] = ["招商一局", "招商二局", "招商三局", "产业促进中心"];

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("a valid demo date")
}

/// A timestamp for records the demo "created" on a date (01:00 UTC, 09:00 in Shanghai), so reruns match.
fn stamp(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(1, 0, 0).expect("valid time").and_utc()
}

struct Dates(ChaCha8Rng);

impl Dates {
    /// A date between `from` and `to`, both inclusive.
    fn between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0) as u64;
        from + Days::new(self.0.random_range(0..=span))
    }

    fn after(&mut self, date: NaiveDate, min: u64, max: u64) -> NaiveDate {
        date + Days::new(self.0.random_range(min..=max))
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.0).expect("a non-empty list")
    }

    fn int(&mut self, min: i64, max: i64) -> i64 {
        self.0.random_range(min..=max)
    }
}

struct CompanyPlan {
    name: String,
    industry: &'static str,
    province: &'static str,
    city: &'static str,
}

struct ProjectPlan {
    name: String,
    company: usize,
    industry: &'static str,
    events: Vec<(ProjectStage, NaiveDate, Option<&'static str>)>,
    major: bool,
    agreed_wan: Option<i64>,
    source: ProjectSource,
    source_visit: Option<usize>,
    source_outreach: Option<usize>,
    source_partner: Option<usize>,
}

impl ProjectPlan {
    fn lead_date(&self) -> NaiveDate {
        self.events[0].1
    }

    fn reached(&self, stage: ProjectStage) -> Option<NaiveDate> {
        let h: Vec<Event<ProjectStage>> = self
            .events
            .iter()
            .map(|(stage, occurred_on, _)| Event {
                stage: *stage,
                occurred_on: *occurred_on,
            })
            .collect();
        pipeline::reach_dates(&h, None)
            .into_iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, d)| d)
    }
}

struct VisitPlan {
    date: NaiveDate,
    headcount: i32,
    companies: Vec<usize>,
    projects: Vec<usize>,
    leader: &'static str,
}

struct OutreachPlan {
    kind: OutreachKind,
    city: &'static str,
    start: NaiveDate,
    end: NaiveDate,
    leader: &'static str,
    companies: Vec<usize>,
}

struct Plan {
    companies: Vec<CompanyPlan>,
    projects: Vec<ProjectPlan>,
    visits: Vec<VisitPlan>,
    outreach: Vec<OutreachPlan>,
}

/// Timelines of projects, as (stage, earliest, latest) steps; each step's date is drawn after the previous one.
type Steps<'a> = &'a [(ProjectStage, NaiveDate, NaiveDate)];

impl Plan {
    fn company(&mut self, r: &mut Dates, name: Option<&str>, industry: &'static str) -> usize {
        let i = self.companies.len();
        let (province, city) = r.pick(&ORIGINS);
        let suffix = match industry {
            "电子信息" => "电子科技",
            "生物医药" => "生物科技",
            "现代农业" => "农业发展",
            "低空经济" => "航空科技",
            other => other,
        };
        let name = name.map_or_else(
            || format!("{city}{}{suffix}有限公司", BRANDS[i % BRANDS.len()]),
            str::to_owned,
        );
        self.companies.push(CompanyPlan {
            name,
            industry,
            province,
            city,
        });
        i
    }

    /// Adds a project whose stages follow `steps`; answers its index.
    fn project(&mut self, r: &mut Dates, name: Option<(&str, &str)>, industry_at: usize, steps: Steps) -> usize {
        let (industry, products) = INDUSTRIES[industry_at % INDUSTRIES.len()];
        let company = self.company(r, name.map(|(c, _)| c), industry);
        let name = match name {
            Some((_, p)) => p.to_owned(),
            None => {
                let brand = BRANDS[company % BRANDS.len()];
                format!("{brand}{}项目", r.pick(&products))
            }
        };
        let mut events = Vec::new();
        let mut last: Option<NaiveDate> = None;
        for &(stage, from, to) in steps {
            let from = last.map_or(from, |l| from.max(l));
            let date = r.between(from, to.max(from));
            let reason = match stage {
                ProjectStage::Dropped => Some(r.pick(&["企业投资计划调整", "资金未落实,项目终止", "选址变更至外省"])),
                _ if events.last().is_some_and(|(s, _, _): &(ProjectStage, _, _)| {
                    s.rank().zip(stage.rank()).is_some_and(|(a, b)| b < a)
                }) =>
                {
                    Some("投资协议取消,重新洽谈")
                }
                _ => None,
            };
            events.push((stage, date, reason));
            last = Some(date);
        }
        self.projects.push(ProjectPlan {
            name,
            company,
            industry,
            events,
            major: false,
            agreed_wan: None,
            source: ProjectSource::Other,
            source_visit: None,
            source_outreach: None,
            source_partner: None,
        });
        self.projects.len() - 1
    }
}

/// Builds the whole park in memory.
fn plan() -> anyhow::Result<Plan> {
    use ProjectStage::*;
    let mut r = Dates(ChaCha8Rng::seed_from_u64(20_240_630));
    let mut p = Plan {
        companies: Vec::new(),
        projects: Vec::new(),
        visits: Vec::new(),
        outreach: Vec::new(),
    };

    // 3 projects in production in 2024-H1.
    let producing = [
        ("华元通电子科技有限公司", "华元通智能终端产业园"),
        ("恒丰厨具制造有限公司", "恒丰厨具生产线项目"),
        ("瑞达精密机械有限公司", "瑞达精密零部件项目"),
    ];
    let mut majors = Vec::new();
    for (i, names) in producing.iter().enumerate() {
        majors.push(p.project(
            &mut r,
            Some(*names),
            [4, 1, 1][i],
            &[
                (Lead, d(2022, 3, 1), d(2022, 8, 31)),
                (Negotiating, d(2022, 9, 1), d(2022, 10, 31)),
                (Signed, d(2022, 11, 1), d(2023, 2, 28)),
                (Landed, d(2023, 3, 1), d(2023, 5, 31)),
                (Started, d(2023, 6, 1), d(2023, 9, 30)),
                (Producing, d(2024, 2, 1), d(2024, 6, 28)),
            ],
        ));
    }
    // 5 started in 2024-H1.
    for i in 0..5 {
        let name = (i == 0).then_some(("福美新材料科技有限公司", "福美新材料生产基地"));
        majors.push(p.project(
            &mut r,
            name,
            if i == 0 { 0 } else { i + 1 },
            &[
                (Lead, d(2022, 10, 1), d(2023, 1, 15)),
                (Negotiating, d(2023, 2, 1), d(2023, 3, 31)),
                (Signed, d(2023, 4, 1), d(2023, 6, 30)),
                (Landed, d(2023, 7, 1), d(2023, 10, 31)),
                (Started, d(2024, 1, 5), d(2024, 6, 25)),
            ],
        ));
    }
    // 5 landed in 2024-H1; one of them started later in the year.
    for i in 0..5 {
        let name = (i == 0).then_some(("万维无人机科技有限公司", "万维无人机研发生产基地"));
        let mut steps = vec![
            (Lead, d(2023, 2, 1), d(2023, 4, 30)),
            (Negotiating, d(2023, 5, 1), d(2023, 6, 30)),
            (Signed, d(2023, 8, 1), d(2023, 11, 30)),
            (Landed, d(2024, 1, 10), d(2024, 6, 20)),
        ];
        if i == 2 {
            steps.push((Started, d(2024, 9, 1), d(2024, 9, 30)));
        }
        majors.push(p.project(&mut r, name, if i == 0 { 2 } else { i + 2 }, &steps));
    }
    // 6 signed in 2024-H1 after negotiating in 2023; two landed in 2024-H2.
    for i in 0..6 {
        let mut steps = vec![
            (Lead, d(2023, 3, 1), d(2023, 7, 31)),
            (Negotiating, d(2023, 8, 1), d(2023, 11, 30)),
            (Signed, d(2024, 1, 8), d(2024, 6, 28)),
        ];
        if i < 2 {
            steps.push((Landed, d(2024, 8, 1), d(2024, 11, 30)));
        }
        majors.push(p.project(&mut r, None, i, &steps));
    }
    // 3 that went from lead to signed inside 2024-H1.
    for i in 0..3 {
        majors.push(p.project(
            &mut r,
            None,
            i + 3,
            &[
                (Lead, d(2024, 1, 2), d(2024, 1, 31)),
                (Negotiating, d(2024, 2, 1), d(2024, 3, 31)),
                (Signed, d(2024, 4, 1), d(2024, 6, 28)),
            ],
        ));
    }
    // 22 more reaching negotiation in 2024-H1: three dropped, one dropped and reopened, four signed later, one of
    // those cancelled and back in negotiation.
    let mut negotiating = Vec::new();
    for i in 0..22 {
        let lead = if i % 3 == 0 {
            (d(2023, 10, 1), d(2023, 12, 31))
        } else {
            (d(2024, 1, 1), d(2024, 3, 15))
        };
        let mut steps = vec![(Lead, lead.0, lead.1), (Negotiating, d(2024, 1, 1), d(2024, 6, 15))];
        match i {
            0..=2 => steps.push((Dropped, d(2024, 3, 1), d(2024, 6, 30))),
            3 => {
                steps.push((Dropped, d(2024, 4, 1), d(2024, 6, 30)));
                steps.push((Negotiating, d(2024, 9, 1), d(2024, 9, 30)));
            }
            4..=7 => {
                steps.push((Signed, d(2024, 8, 1), d(2024, 10, 31)));
                if i == 7 {
                    steps.push((Negotiating, d(2024, 11, 1), d(2024, 12, 15)));
                }
            }
            _ => {}
        }
        negotiating.push(p.project(&mut r, None, i, &steps));
    }
    // 12 leads of 2024-H1 not yet in negotiation by mid-year; three negotiate in the autumn.
    let mut leads = Vec::new();
    for i in 0..12 {
        let mut steps = vec![(Lead, d(2024, 1, 5), d(2024, 6, 28))];
        if i < 3 {
            steps.push((Negotiating, d(2024, 8, 1), d(2024, 10, 31)));
        }
        leads.push(p.project(&mut r, None, i + 4, &steps));
    }
    // 20 projects of 2023 (for year-on-year): negotiating in 2023-H1, some signed and landed in 2023, two dropped.
    let mut older = Vec::new();
    for i in 0..20 {
        let mut steps = vec![
            (Lead, d(2022, 6, 1), d(2022, 12, 31)),
            (Negotiating, d(2023, 1, 5), d(2023, 6, 28)),
        ];
        match i {
            0..=6 => {
                steps.push((Signed, d(2023, 3, 1), d(2023, 12, 20)));
                if i < 3 {
                    steps.push((Landed, d(2023, 7, 1), d(2023, 12, 28)));
                }
            }
            7 | 8 => steps.push((Dropped, d(2023, 7, 1), d(2023, 11, 30))),
            _ => {}
        }
        older.push(p.project(&mut r, None, i + 1, &steps));
    }
    // 10 new leads of 2024-H2.
    for i in 0..10 {
        let mut steps = vec![(Lead, d(2024, 7, 1), d(2024, 11, 15))];
        if i < 4 {
            steps.push((Negotiating, d(2024, 9, 1), d(2024, 12, 20)));
        }
        p.project(&mut r, None, i + 2, &steps);
    }

    // 58 major projects (重大项目), 98亿元 = 980,000万元 of agreed investment among them.
    majors.extend(negotiating.iter().take(20));
    majors.extend(leads.iter().take(8));
    majors.extend(older.iter().take(8));
    ensure!(
        majors.len() == 58,
        "the demo plans 58 major projects, not {}",
        majors.len()
    );
    let mut total = 0;
    for (n, &i) in majors.iter().enumerate() {
        let wan = if n + 1 == majors.len() {
            980_000 - total
        } else {
            r.int(80, 220) * 100
        };
        p.projects[i].major = true;
        p.projects[i].agreed_wan = Some(wan);
        total += wan;
    }
    ensure!(total == 980_000, "major investment adds up to {total}万元");
    // The projects the bureau's summary names are its flagships: give them the largest agreements (a swap keeps the
    // total at 98亿元).
    for &named in &[0, 1, 3, 8] {
        let (top, _) = majors[named..]
            .iter()
            .enumerate()
            .max_by_key(|(_, i)| p.projects[**i].agreed_wan)
            .expect("majors");
        let (a, b) = (majors[named], majors[named + top]);
        let (wa, wb) = (p.projects[a].agreed_wan, p.projects[b].agreed_wan);
        p.projects[a].agreed_wan = wb;
        p.projects[b].agreed_wan = wa;
    }
    let last = p.projects[*majors.last().expect("58 majors")].agreed_wan;
    ensure!(
        last.is_some_and(|w| w > 0),
        "the last major project's investment must stay positive: {last:?}"
    );
    // Smaller signed projects carry an agreed investment too.
    for pr in p.projects.iter_mut().filter(|pr| !pr.major) {
        if pr.reached(Signed).is_some() {
            pr.agreed_wan = Some(r.int(10, 60) * 100);
        }
    }

    plan_visits(&mut p, &mut r);
    plan_outreach(&mut p, &mut r);
    plan_sources(&mut p, &mut r);
    Ok(p)
}

/// Headcounts for `n` visits summing to `total`, each between 2 and 15.
fn headcounts(r: &mut Dates, n: usize, total: i64) -> Vec<i32> {
    let mut v: Vec<i64> = (0..n).map(|_| r.int(3, 10)).collect();
    let mut i = 0;
    while v.iter().sum::<i64>() != total {
        let diff = total - v.iter().sum::<i64>();
        if diff > 0 && v[i] < 15 {
            v[i] += 1;
        } else if diff < 0 && v[i] > 2 {
            v[i] -= 1;
        }
        i = (i + 1) % n;
    }
    v.into_iter().map(|h| h as i32).collect()
}

fn plan_visits(p: &mut Plan, r: &mut Dates) {
    // (first day, last day, batches, person-times): 2024-H1 is the 42批278人次 of the summary.
    let periods = [
        (d(2023, 1, 3), d(2023, 6, 30), 36, 231),
        (d(2023, 7, 1), d(2023, 12, 29), 40, 262),
        (d(2024, 1, 2), d(2024, 6, 28), 42, 278),
        (d(2024, 7, 1), d(2024, 12, 27), 38, 249),
    ];
    let companies = p.companies.len();
    for (from, to, n, total) in periods {
        let mut dates: Vec<NaiveDate> = (0..n).map(|_| r.between(from, to)).collect();
        dates.sort();
        for (date, headcount) in dates.into_iter().zip(headcounts(r, n, total)) {
            let first = r.int(0, companies as i64 - 1) as usize;
            p.visits.push(VisitPlan {
                date,
                headcount,
                companies: vec![first],
                projects: Vec::new(),
                leader: r.pick(&LEADERS),
            });
        }
    }
}

fn plan_outreach(p: &mut Plan, r: &mut Dates) {
    let cities_2024h1 = [
        "北京", "天津", "南京", "东莞", "深圳", "上海", "苏州", "杭州", "广州", "合肥", "武汉", "成都", "西安", "宁波",
        "厦门",
    ];
    let add = |p: &mut Plan, r: &mut Dates, kind, city, from: NaiveDate, to: NaiveDate| {
        let start = r.between(from, to);
        let end = r.after(start, 1, 3);
        let n = p.companies.len() as i64;
        let companies = vec![r.int(0, n - 1) as usize, r.int(0, n - 1) as usize];
        p.outreach.push(OutreachPlan {
            kind,
            city,
            start,
            end,
            leader: r.pick(&LEADERS),
            companies,
        });
    };
    // 2024-H1: the 15 outreach trips of the summary, one a fortnight or so.
    for (i, city) in cities_2024h1.iter().enumerate() {
        let from = d(2024, 1, 8) + Days::new(i as u64 * 11);
        add(p, r, OutreachKind::Trip, city, from, from + Days::new(6));
    }
    for city in &cities_2024h1[..10] {
        add(p, r, OutreachKind::Trip, city, d(2023, 1, 5), d(2023, 6, 20));
    }
    add(
        p,
        r,
        OutreachKind::PromotionEvent,
        "上海",
        d(2023, 4, 1),
        d(2023, 4, 30),
    );
    for i in 0..9 {
        add(
            p,
            r,
            OutreachKind::Trip,
            cities_2024h1[14 - i],
            d(2023, 7, 3),
            d(2023, 12, 20),
        );
    }
    add(p, r, OutreachKind::Forum, "深圳", d(2023, 10, 1), d(2023, 10, 31));
    for i in 0..11 {
        add(
            p,
            r,
            OutreachKind::Trip,
            cities_2024h1[(i * 4) % 15],
            d(2024, 7, 2),
            d(2024, 12, 15),
        );
    }
    add(
        p,
        r,
        OutreachKind::PromotionEvent,
        "杭州",
        d(2024, 9, 1),
        d(2024, 9, 30),
    );
    add(
        p,
        r,
        OutreachKind::ResidentCampaign,
        "深圳",
        d(2024, 10, 8),
        d(2024, 10, 20),
    );
    p.outreach.sort_by_key(|o| o.start);
}

/// Where each project came from: a visit or trip shortly before its lead, the 商会 after its agreement, or a referral.
fn plan_sources(p: &mut Plan, r: &mut Dates) {
    let agreement = d(2024, 4, 18);
    for i in 0..p.projects.len() {
        let lead = p.projects[i].lead_date();
        let before = |date: NaiveDate| date <= lead && lead - date <= chrono::Duration::days(90);
        let roll = r.int(0, 9);
        if lead >= agreement && roll < 3 {
            p.projects[i].source = ProjectSource::Partner;
            p.projects[i].source_partner = Some(0);
        } else if roll < 5 {
            if let Some(v) = (0..p.visits.len()).rev().find(|&v| before(p.visits[v].date)) {
                p.projects[i].source = ProjectSource::Visit;
                p.projects[i].source_visit = Some(v);
                let company = p.projects[i].company;
                p.visits[v].companies.push(company);
                p.visits[v].projects.push(i);
            }
        } else if roll < 8 {
            if let Some(o) = (0..p.outreach.len()).rev().find(|&o| before(p.outreach[o].end)) {
                p.projects[i].source = ProjectSource::Outreach;
                p.projects[i].source_outreach = Some(o);
                let company = p.projects[i].company;
                p.outreach[o].companies.push(company);
            }
        } else {
            p.projects[i].source = ProjectSource::Referral;
        }
    }
}

async fn is_empty(db: &impl ConnectionTrait) -> anyhow::Result<bool> {
    Ok(company::Entity::find().count(db).await? == 0
        && project::Entity::find().count(db).await? == 0
        && visit::Entity::find().count(db).await? == 0
        && outreach::Entity::find().count(db).await? == 0
        && partner::Entity::find().count(db).await? == 0
        && incubation_candidate::Entity::find().count(db).await? == 0
        && target::Entity::find().count(db).await? == 0)
}

/// Deletes every ledger record, children first.
async fn clear(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    visit_company::Entity::delete_many().exec(db).await?;
    visit_project::Entity::delete_many().exec(db).await?;
    outreach_company::Entity::delete_many().exec(db).await?;
    incubation_event::Entity::delete_many().exec(db).await?;
    incubation_candidate::Entity::delete_many().exec(db).await?;
    blocker::Entity::delete_many().exec(db).await?;
    follow_up::Entity::delete_many().exec(db).await?;
    fund_arrival::Entity::delete_many().exec(db).await?;
    stage_event::Entity::delete_many().exec(db).await?;
    project::Entity::delete_many().exec(db).await?;
    contact::Entity::delete_many().exec(db).await?;
    company::Entity::delete_many().exec(db).await?;
    visit::Entity::delete_many().exec(db).await?;
    outreach::Entity::delete_many().exec(db).await?;
    partner::Entity::delete_many().exec(db).await?;
    target::Entity::delete_many().exec(db).await?;
    Ok(())
}

/// Fills the database with the demo park. Refuses a database that already holds records unless `force`, which
/// replaces them. All in one transaction: on any error nothing is written.
pub async fn seed(db: &DatabaseConnection, force: bool) -> anyhow::Result<Summary> {
    let plan = plan()?;
    let txn = db.begin().await?;
    if !is_empty(&txn).await? {
        if !force {
            bail!("the database already holds records; use --force to replace them with the demo park");
        }
        clear(&txn).await?;
    }
    let summary = write(&txn, plan).await.context("writing the demo park")?;
    txn.commit().await?;
    Ok(summary)
}

async fn write(db: &impl ConnectionTrait, plan: Plan) -> anyhow::Result<Summary> {
    let mut r = Dates(ChaCha8Rng::seed_from_u64(20_231_231));
    let created = stamp(d(2024, 12, 31));
    let mut summary = Summary::default();

    let mut company_ids = Vec::with_capacity(plan.companies.len());
    for (i, c) in plan.companies.iter().enumerate() {
        let id = company::ActiveModel {
            name: Set(c.name.clone()),
            credit_code: Set(None),
            industry: Set(Some(c.industry.to_owned())),
            province: Set(Some(c.province.to_owned())),
            city: Set(Some(c.city.to_owned())),
            notes: Set(None),
            version: Set(1),
            created_at: Set(created),
            updated_at: Set(created),
            ..Default::default()
        }
        .insert(db)
        .await?
        .id;
        contact::ActiveModel {
            company_id: Set(id),
            name: Set(format!("{}经理", SURNAMES[i % SURNAMES.len()])),
            title: Set(Some("投资发展部经理".into())),
            phone: Set(Some(format!("138{:08}", 10_000_000 + i * 7919 % 89_999_999))),
            email: Set(Some(format!("contact{}@example.com", i + 1))),
            notes: Set(None),
            version: Set(1),
            created_at: Set(created),
            updated_at: Set(created),
            ..Default::default()
        }
        .insert(db)
        .await?;
        company_ids.push(id);
    }
    summary.companies = company_ids.len();

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
    let mut partner_ids = Vec::new();
    for (name, kind, date, notes) in partners {
        let m = partner::ActiveModel {
            name: Set(name.into()),
            kind: Set(kind),
            agreement_date: Set(Some(date)),
            notes: Set(Some(notes.into())),
            version: Set(1),
            created_at: Set(stamp(date)),
            updated_at: Set(stamp(date)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        partner_ids.push(m.id);
    }

    let mut visit_ids = Vec::new();
    for v in &plan.visits {
        let m = visit::ActiveModel {
            visit_date: Set(v.date),
            headcount: Set(v.headcount),
            purpose: Set(Some("考察园区投资环境,洽谈项目合作".into())),
            summary: Set(Some("介绍园区产业政策与配套,企业表达投资意向".into())),
            receiving_leaders: Set(serde_json::json!([v.leader])),
            staff: Set(serde_json::json!([UNITS[v.headcount as usize % UNITS.len()]])),
            version: Set(1),
            created_at: Set(stamp(v.date)),
            updated_at: Set(stamp(v.date)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let mut companies: Vec<i64> = v.companies.iter().map(|&c| company_ids[c]).collect();
        companies.sort_unstable();
        companies.dedup();
        visit_company::Entity::insert_many(companies.into_iter().map(|c| visit_company::ActiveModel {
            visit_id: Set(m.id),
            company_id: Set(c),
        }))
        .exec(db)
        .await?;
        visit_ids.push(m.id);
    }
    summary.visits = visit_ids.len();

    let mut outreach_ids = Vec::new();
    for o in &plan.outreach {
        let m = outreach::ActiveModel {
            kind: Set(o.kind),
            city: Set(o.city.into()),
            start_date: Set(o.start),
            end_date: Set(o.end),
            leading_official: Set(Some(o.leader.into())),
            participants: Set(serde_json::json!(["招商一局", "招商二局"])),
            notes: Set(Some(format!("赴{}开展招商活动,走访重点企业", o.city))),
            version: Set(1),
            created_at: Set(stamp(o.end)),
            updated_at: Set(stamp(o.end)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let mut companies: Vec<i64> = o.companies.iter().map(|&c| company_ids[c]).collect();
        companies.sort_unstable();
        companies.dedup();
        outreach_company::Entity::insert_many(companies.into_iter().map(|c| outreach_company::ActiveModel {
            outreach_id: Set(m.id),
            company_id: Set(c),
        }))
        .exec(db)
        .await?;
        outreach_ids.push(m.id);
    }
    summary.outreach = outreach_ids.len();

    let mut project_ids = Vec::new();
    let mut events = Vec::new();
    let mut follow_ups = Vec::new();
    let mut funds = Vec::new();
    for (i, pr) in plan.projects.iter().enumerate() {
        // Every demo history obeys the rules the API enforces.
        let mut history: Vec<Event<ProjectStage>> = Vec::new();
        for &(stage, occurred_on, reason) in &pr.events {
            pipeline::check_move(&history, stage, occurred_on, reason.is_some(), true)
                .map_err(|e| anyhow::anyhow!("demo project {} breaks a stage rule: {e:?}", pr.name))?;
            history.push(Event { stage, occurred_on });
        }
        let current = pipeline::current(&history).expect("every demo project has events");
        let lead = pr.lead_date();
        let last = pr.events.last().expect("events").1;
        let m = project::ActiveModel {
            name: Set(pr.name.clone()),
            company_id: Set(company_ids[pr.company]),
            industry: Set(Some(pr.industry.into())),
            source: Set(pr.source),
            source_visit_id: Set(pr.source_visit.map(|v| visit_ids[v])),
            source_outreach_id: Set(pr.source_outreach.map(|o| outreach_ids[o])),
            source_partner_id: Set(pr.source_partner.map(|p| partner_ids[p])),
            agreed_investment_yuan: Set(pr.agreed_wan.map(|w| w * 10_000)),
            land_mu: Set(pr.major.then(|| r.int(20, 300) as f64)),
            is_major: Set(pr.major),
            contact_leader: Set(Some(LEADERS[i % LEADERS.len()].into())),
            responsible_unit: Set(Some(UNITS[i % UNITS.len()].into())),
            team: Set(Some(format!("{}专班", pr.industry))),
            notes: Set(None),
            stage: Set(current),
            version: Set(pr.events.len() as i32),
            created_at: Set(stamp(lead)),
            updated_at: Set(stamp(last)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let mut from = None;
        for &(stage, occurred_on, reason) in &pr.events {
            events.push(stage_event::ActiveModel {
                project_id: Set(m.id),
                stage: Set(stage),
                from_stage: Set(from),
                occurred_on: Set(occurred_on),
                note: Set(None),
                reason: Set(reason.map(str::to_owned)),
                recorded_by: Set(Some("demo".into())),
                created_at: Set(stamp(occurred_on)),
                ..Default::default()
            });
            from = Some(stage);
        }
        // Follow-ups between the lead and a little after the latest event.
        let until = (last + Days::new(45)).min(d(2024, 12, 31));
        for _ in 0..r.int(1, 4) {
            let on = r.between(lead, until);
            let kind = r.pick(&[FollowUpKind::Meeting, FollowUpKind::Call, FollowUpKind::SiteVisit]);
            let next = r.after(on, 7, 30);
            follow_ups.push(follow_up::ActiveModel {
                project_id: Set(m.id),
                occurred_on: Set(on),
                kind: Set(kind),
                note: Set(r
                    .pick(&[
                        "与企业高层会谈,了解投资计划",
                        "电话沟通项目进展",
                        "陪同企业实地考察厂房",
                    ])
                    .to_string()),
                next_step: Set(Some(
                    r.pick(&["报送项目需求清单", "协调用地方案", "安排领导会见"])
                        .to_string(),
                )),
                next_date: Set(Some(next)),
                recorded_by: Set(Some("demo".into())),
                version: Set(1),
                created_at: Set(stamp(on)),
                updated_at: Set(stamp(on)),
                ..Default::default()
            });
        }
        // Funds arrive after landing, a share of the agreed investment at a time.
        if let (Some(landed), Some(wan)) = (pr.reached(ProjectStage::Landed), pr.agreed_wan) {
            let mut on = landed;
            for _ in 0..r.int(1, 3) {
                on = r.after(on, 20, 120);
                if on > d(2024, 12, 31) {
                    break;
                }
                funds.push(fund_arrival::ActiveModel {
                    project_id: Set(m.id),
                    arrived_on: Set(on),
                    amount_yuan: Set(wan * r.int(8, 25) * 100),
                    note: Set(Some("企业注册资本金到位".into())),
                    version: Set(1),
                    created_at: Set(stamp(on)),
                    updated_at: Set(stamp(on)),
                    ..Default::default()
                });
            }
        }
        project_ids.push(m.id);
    }
    summary.projects = project_ids.len();
    for chunk in events.chunks(500) {
        stage_event::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    for chunk in follow_ups.chunks(500) {
        follow_up::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    for chunk in funds.chunks(500) {
        fund_arrival::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    for (v, plan_v) in plan.visits.iter().enumerate() {
        let mut linked: Vec<i64> = plan_v.projects.iter().map(|&p| project_ids[p]).collect();
        linked.dedup();
        if !linked.is_empty() {
            visit_project::Entity::insert_many(linked.into_iter().map(|p| visit_project::ActiveModel {
                visit_id: Set(visit_ids[v]),
                project_id: Set(p),
            }))
            .exec(db)
            .await?;
        }
    }

    summary.blockers = write_blockers(db, &mut r, &plan, &project_ids).await?;
    summary.candidates = write_incubation(db, &mut r, &company_ids).await?;
    write_targets(db).await?;
    write_leaders(db).await?;
    Ok(summary)
}

/// Blockers: 2024-H1 resolves 206 of them (30 raised in late 2023, 176 raised in the half-year).
async fn write_blockers(
    db: &impl ConnectionTrait,
    r: &mut Dates,
    plan: &Plan,
    project_ids: &[i64],
) -> anyhow::Result<usize> {
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
    // (raised from, raised to, how many, resolved from, resolved to; None = still open)
    type Batch = (NaiveDate, NaiveDate, usize, Option<(NaiveDate, NaiveDate)>);
    let batches: [Batch; 7] = [
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
    ];
    let mut rows = Vec::new();
    for (from, to, n, resolved) in batches {
        for k in 0..n {
            let opened = r.between(from, to);
            let alive: Vec<usize> = (0..plan.projects.len())
                .filter(|&p| plan.projects[p].lead_date() <= opened)
                .collect();
            let project = r.pick(&alive);
            let (category, title, unit, fix) = CATEGORIES[rows.len() % CATEGORIES.len()];
            let resolved_on = resolved.map(|(a, b)| r.between(a.max(opened), b.max(opened)));
            let status = match resolved_on {
                Some(_) => BlockerStatus::Resolved,
                None if k % 2 == 0 => BlockerStatus::InProgress,
                None => BlockerStatus::Open,
            };
            rows.push(blocker::ActiveModel {
                project_id: Set(project_ids[project]),
                title: Set(title.into()),
                category: Set(category),
                owner_unit: Set(Some(unit.into())),
                assigned_leader: Set(Some(LEADERS[(k + project) % LEADERS.len()].into())),
                opened_on: Set(opened),
                due_date: Set(Some(opened + Days::new(30))),
                status: Set(status),
                resolution: Set(resolved_on.map(|_| fix.to_owned())),
                resolved_on: Set(resolved_on),
                version: Set(1),
                created_at: Set(stamp(opened)),
                updated_at: Set(stamp(resolved_on.unwrap_or(opened))),
                ..Default::default()
            });
        }
    }
    let n = rows.len();
    for chunk in rows.chunks(500) {
        blocker::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(n)
}

/// High-tech incubation: the 2024 cohort of 5 taken in during 2024-H1; 3 of the 2023 cohort applied, approved and
/// filed in 2024-H1.
async fn write_incubation(db: &impl ConnectionTrait, r: &mut Dates, company_ids: &[i64]) -> anyhow::Result<usize> {
    use IncubationStage::*;
    type Steps = Vec<(IncubationStage, NaiveDate, Option<&'static str>)>;
    let mut plans: Vec<(i32, Steps)> = Vec::new();
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
    let mut events = Vec::new();
    for (k, (cohort, steps)) in plans.iter().enumerate() {
        let company = company_ids[(k * 7 + 3) % company_ids.len()];
        let m = incubation_candidate::ActiveModel {
            company_id: Set(company),
            cohort_year: Set(*cohort),
            stage: Set(steps.last().expect("steps").0),
            notes: Set(None),
            version: Set(steps.len() as i32),
            created_at: Set(stamp(steps[0].1)),
            updated_at: Set(stamp(steps.last().expect("steps").1)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let mut from = None;
        for &(stage, on, reason) in steps {
            events.push(incubation_event::ActiveModel {
                candidate_id: Set(m.id),
                stage: Set(stage),
                from_stage: Set(from),
                occurred_on: Set(on),
                note: Set(None),
                reason: Set(reason.map(str::to_owned)),
                recorded_by: Set(Some("demo".into())),
                created_at: Set(stamp(on)),
                ..Default::default()
            });
            from = Some(stage);
        }
    }
    incubation_event::Entity::insert_many(events).exec(db).await?;
    Ok(plans.len())
}

/// The contact leaders as users who get the weekly report (example.com addresses; random passwords an admin resets).
async fn write_leaders(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    use entity::{enums::Role, user};
    const LOGINS: [&str; 5] = ["wangjianguo", "liming", "zhanghua", "chenjing", "liuyang"];
    for (login, name) in LOGINS.into_iter().zip(LEADERS) {
        let exists = user::Entity::find()
            .filter(user::Column::Username.eq(login))
            .one(db)
            .await?
            .is_some();
        if !exists {
            let leader = accounts::NewUser {
                username: accounts::Username::parse("username", login)?,
                display_name: Short::parse("display_name", name)?,
                email: Some(format!("{login}@example.com")),
                role: Role::Leader,
                password: accounts::Password::parse("password", &accounts::random_password()?)?,
            };
            accounts::create_user(db, leader).await?;
        }
    }
    Ok(())
}

async fn write_targets(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    use TargetMetric::*;
    let values = [
        (VisitBatches, 70, 80),
        (PersonTimes, 450, 500),
        (ProjectsNegotiating, 40, 45),
        (ProjectsSigned, 15, 18),
        (ProjectsLanded, 8, 10),
        (ProjectsStarted, 8, 10),
        (ProjectsProducing, 5, 6),
        (SignedInvestment, 500_000, 600_000),
        (FundsArrived, 200_000, 300_000),
        (IncubationApplied, 5, 6),
        (IncubationApproved, 4, 5),
    ];
    let mut rows = Vec::new();
    for (metric, y2023, y2024) in values {
        for (year, v) in [(2023, y2023), (2024, y2024)] {
            rows.push(target::ActiveModel {
                year: Set(year),
                metric: Set(metric),
                value: Set(if metric.is_money() { v * 10_000 } else { v }),
                version: Set(1),
                created_at: Set(stamp(d(year, 1, 5))),
                updated_at: Set(stamp(d(year, 1, 5))),
                ..Default::default()
            });
        }
    }
    target::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}
