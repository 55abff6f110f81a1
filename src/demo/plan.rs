//! The demo park planned in memory, with a seeded ChaCha generator so that the same command gives the same data.

use anyhow::ensure;
use chrono::{Days, NaiveDate};
use entity::{
    enums::{OutreachKind, ProjectSource, ProjectStage},
    pipeline::{self, Event, Stage},
};
use rand::{Rng, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;

use super::LEADERS;

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

pub(super) const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
pub(super) const UNITS: [&str; 4] = ["招商一局", "招商二局", "招商三局", "产业促进中心"];

pub(super) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("a valid demo date")
}

pub(super) struct Dates(pub(super) ChaCha8Rng);

impl Dates {
    /// A date between `from` and `to`, both inclusive.
    pub(super) fn between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0) as u64;
        from + Days::new(self.0.random_range(0..=span))
    }

    pub(super) fn after(&mut self, date: NaiveDate, min: u64, max: u64) -> NaiveDate {
        date + Days::new(self.0.random_range(min..=max))
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.0).expect("a non-empty list")
    }

    pub(super) fn int(&mut self, min: i64, max: i64) -> i64 {
        self.0.random_range(min..=max)
    }
}

pub(super) struct CompanyPlan {
    pub(super) name: String,
    pub(super) industry: &'static str,
    pub(super) province: &'static str,
    pub(super) city: &'static str,
}

pub(super) struct ProjectPlan {
    pub(super) name: String,
    pub(super) company: usize,
    pub(super) industry: &'static str,
    pub(super) events: Vec<(ProjectStage, NaiveDate, Option<&'static str>)>,
    pub(super) major: bool,
    pub(super) agreed_wan: Option<i64>,
    pub(super) source: ProjectSource,
    pub(super) source_visit: Option<usize>,
    pub(super) source_outreach: Option<usize>,
    pub(super) source_partner: Option<usize>,
}

impl ProjectPlan {
    pub(super) fn lead_date(&self) -> NaiveDate {
        self.events[0].1
    }

    pub(super) fn reached(&self, stage: ProjectStage) -> Option<NaiveDate> {
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

pub(super) struct VisitPlan {
    pub(super) date: NaiveDate,
    pub(super) headcount: i32,
    pub(super) companies: Vec<usize>,
    pub(super) projects: Vec<usize>,
    pub(super) leader: &'static str,
}

pub(super) struct OutreachPlan {
    pub(super) kind: OutreachKind,
    pub(super) city: &'static str,
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    pub(super) leader: &'static str,
    pub(super) companies: Vec<usize>,
}

pub(super) struct Plan {
    pub(super) companies: Vec<CompanyPlan>,
    pub(super) projects: Vec<ProjectPlan>,
    pub(super) visits: Vec<VisitPlan>,
    pub(super) outreach: Vec<OutreachPlan>,
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
pub(super) fn plan() -> anyhow::Result<Plan> {
    let mut r = Dates(ChaCha8Rng::seed_from_u64(20_240_630));
    let mut p = Plan {
        companies: Vec::new(),
        projects: Vec::new(),
        visits: Vec::new(),
        outreach: Vec::new(),
    };
    let mut majors = plan_flagships(&mut p, &mut r);
    let (negotiating, leads, older) = plan_pipeline(&mut p, &mut r);
    majors.extend(negotiating.iter().take(20));
    majors.extend(leads.iter().take(8));
    // Major projects are worked on in 2024-H1 (docs/DEFINITIONS.md): none of those dropped in 2023.
    let live = |i: &&usize| !p.projects[**i].events.iter().any(|e| e.0 == ProjectStage::Dropped);
    majors.extend(older.iter().filter(live).take(8));
    plan_majors(&mut p, &mut r, &majors)?;
    plan_visits(&mut p, &mut r);
    plan_outreach(&mut p, &mut r);
    plan_sources(&mut p, &mut r);
    Ok(p)
}

/// The projects the bureau's summary names, and the others that produce, start, land and sign in 2024-H1; all of
/// them major.
fn plan_flagships(p: &mut Plan, r: &mut Dates) -> Vec<usize> {
    use ProjectStage::*;
    // 3 projects in production in 2024-H1.
    let producing = [
        ("华元通电子科技有限公司", "华元通智能终端产业园"),
        ("恒丰厨具制造有限公司", "恒丰厨具生产线项目"),
        ("瑞达精密机械有限公司", "瑞达精密零部件项目"),
    ];
    let mut majors = Vec::new();
    for (i, names) in producing.iter().enumerate() {
        majors.push(p.project(
            r,
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
            r,
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
        majors.push(p.project(r, name, if i == 0 { 2 } else { i + 2 }, &steps));
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
        majors.push(p.project(r, None, i, &steps));
    }
    // 3 that went from lead to signed inside 2024-H1.
    for i in 0..3 {
        majors.push(p.project(
            r,
            None,
            i + 3,
            &[
                (Lead, d(2024, 1, 2), d(2024, 1, 31)),
                (Negotiating, d(2024, 2, 1), d(2024, 3, 31)),
                (Signed, d(2024, 4, 1), d(2024, 6, 28)),
            ],
        ));
    }
    majors
}

/// The rest of the pipeline: negotiations of 2024-H1, leads not yet negotiating, 2023's projects (for year on
/// year) and 2024-H2's leads.
fn plan_pipeline(p: &mut Plan, r: &mut Dates) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    use ProjectStage::*;
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
        negotiating.push(p.project(r, None, i, &steps));
    }
    // 12 leads of 2024-H1 not yet in negotiation by mid-year; three negotiate in the autumn.
    let mut leads = Vec::new();
    for i in 0..12 {
        let mut steps = vec![(Lead, d(2024, 1, 5), d(2024, 6, 28))];
        if i < 3 {
            steps.push((Negotiating, d(2024, 8, 1), d(2024, 10, 31)));
        }
        leads.push(p.project(r, None, i + 4, &steps));
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
        older.push(p.project(r, None, i + 1, &steps));
    }
    // 10 new leads of 2024-H2.
    for i in 0..10 {
        let mut steps = vec![(Lead, d(2024, 7, 1), d(2024, 11, 15))];
        if i < 4 {
            steps.push((Negotiating, d(2024, 9, 1), d(2024, 12, 20)));
        }
        p.project(r, None, i + 2, &steps);
    }
    (negotiating, leads, older)
}

/// 58 major projects with 98亿元 of agreed investment among them; smaller signed projects get an agreement too.
fn plan_majors(p: &mut Plan, r: &mut Dates, majors: &[usize]) -> anyhow::Result<()> {
    use ProjectStage::*;
    // 58 major projects (重大项目), 98亿元 = 980,000万元 of agreed investment among them.
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
    Ok(())
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
