//! The bureau's own records in the demo park: its targets, the support funds its companies secured, the companies
//! that became above-size (规上), and its people and departments.

use entity::enums::{Role, SupportLevel, TargetMetric};
use rust_decimal::Decimal;

use super::super::{
    LEADERS,
    plan::{UNITS, d},
};
use crate::service::{
    Db, accounts, companies, departments,
    input::{Day, Money, Name, Short},
    support_funds, targets,
};

/// The targets of 2023 and 2024.
pub(super) async fn write_targets(db: &impl Db) -> anyhow::Result<()> {
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
    for (metric, y2023, y2024) in values {
        for (year, value) in [(2023, y2023), (2024, y2024)] {
            let t = targets::NewTarget {
                year,
                metric,
                value: Decimal::from(value),
            };
            targets::create(db, t).await?;
        }
    }
    Ok(())
}

/// Support funds the companies secured: 7590万元 approved in 2024-H1 (the bureau's summary), 3800万元 in 2023-H1.
pub(super) async fn write_support_funds(db: &impl Db, company_ids: &[i64]) -> anyhow::Result<()> {
    use SupportLevel::*;
    let funds = [
        (0, "工业企业技术改造专项资金", Provincial, 2000, d(2024, 3, 15)),
        (1, "先进制造业发展专项资金", City, 1500, d(2024, 4, 20)),
        (2, "高新技术企业培育奖补", District, 590, d(2024, 5, 10)),
        (3, "中小企业发展专项资金", National, 2500, d(2024, 6, 18)),
        (4, "稳岗就业补贴", District, 1000, d(2024, 2, 26)),
        (5, "技术改造专项资金", Provincial, 3000, d(2023, 4, 12)),
        (6, "科技创新券", District, 800, d(2023, 5, 30)),
        (7, "数字化转型补助", City, 1200, d(2024, 9, 10)),
    ];
    for (company, programme, level, wan, on) in funds {
        let n = support_funds::NewSupportFund {
            company_id: company_ids[company],
            programme: Name::parse("programme", programme)?,
            level,
            amount: Money::positive_wan("amount", Decimal::from(wan))?,
            approved_on: Day::parse("approved_on", on)?,
            note: None,
        };
        support_funds::create(db, n).await?;
    }
    Ok(())
}

/// The two companies that became above-size (规模以上) enterprises in 2024-H1, as the bureau's summary names them, and
/// one of 2023.
pub(super) async fn write_above_size(db: &impl Db) -> anyhow::Result<()> {
    for (name, industry, since) in [
        ("精诚科技公司", "智能制造", d(2024, 3, 31)),
        ("中燃公司", "新能源", d(2024, 6, 28)),
        ("宏远机械公司", "智能制造", d(2023, 6, 30)),
    ] {
        let c = companies::NewCompany {
            industry: Short::parse_opt("industry", Some(industry))?,
            above_size_since: Some(Day::parse("above_size_since", since)?),
            ..companies::NewCompany::named(Name::parse("name", name)?)
        };
        companies::create(db, c).await?;
    }
    Ok(())
}

/// The bureau's people: 局机关 with a department under it for each responsible unit; the contact leaders in 局机关
/// (they get the weekly report: example.com addresses, random passwords an admin resets) and a staffer in each
/// unit, and the security administrator and the auditor. Answers the staffers' ids in the order of the units. People already there (a `--force` reseed) are kept.
pub(super) async fn write_people(db: &impl Db) -> anyhow::Result<Vec<i64>> {
    const LOGINS: [&str; 5] = ["wangjianguo", "liming", "zhanghua", "chenjing", "liuyang"];
    const STAFF: [(&str, &str); 4] = [
        ("zhoumin", "周敏"),
        ("wulei", "吴磊"),
        ("zhengjie", "郑洁"),
        ("suntao", "孙涛"),
    ];
    let bureau = department(db, "局机关", None).await?;
    let people = LOGINS
        .into_iter()
        .zip(LEADERS)
        .map(|(l, n)| (l, n, Role::Leader, bureau));
    let mut units = Vec::with_capacity(UNITS.len());
    for unit in UNITS {
        units.push(department(db, unit, Some(bureau)).await?);
    }
    let staff = STAFF.into_iter().zip(&units).map(|((l, n), d)| (l, n, Role::Staff, *d));
    // 三员分立's other two administrators (docs/SECURITY.md): they read no records.
    let duties = [
        ("hanbing", "韩冰", Role::Security, bureau),
        ("shenjing", "沈静", Role::Auditor, bureau),
    ];
    let mut staff_ids = Vec::with_capacity(STAFF.len());
    for (login, name, role, dept) in people.chain(staff).chain(duties) {
        let id = match accounts::find_user(db, login).await {
            Ok(u) => u.id,
            Err(_) => {
                let u = accounts::NewUser {
                    username: accounts::Username::parse("username", login)?,
                    display_name: Short::parse("display_name", name)?,
                    email: Some(format!("{login}@example.com")),
                    role,
                    password: accounts::Password::parse("password", &crate::service::secrets::random_password()?)?,
                    department_id: Some(dept),
                    data_scope: None,
                };
                accounts::create_user(db, u).await?.id
            }
        };
        if role == Role::Staff {
            staff_ids.push(id);
        }
    }
    Ok(staff_ids)
}

/// The department of that name, recorded when it is not yet.
async fn department(db: &impl Db, name: &str, parent_id: Option<i64>) -> anyhow::Result<i64> {
    if let Some(d) = departments::list(db).await?.into_iter().find(|d| d.name == name) {
        return Ok(d.id);
    }
    let n = departments::NewDepartment {
        name: Name::parse("name", name)?,
        parent_id,
    };
    Ok(departments::create(db, n).await?.id)
}
