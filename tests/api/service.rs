//! The rules checked at the service layer itself, without HTTP: what every front door (the API, the CLI, the demo
//! park, the benchmarks, later the UI and the import) gets by calling the services.

use chrono::NaiveDate;
use entity::enums::{BlockerCategory, BlockerStatus, ProjectStage, Role};
use invest_crm::service::{
    Actor, AppError, Need, blockers, companies,
    history::StageMove,
    input::{Day, Money, Name, Note, Short},
    projects::{self, NewProject, ProjectWithHistory},
    sessions::{self, AuthConfig, SignIn},
    visits,
};
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::{
    db_test,
    support::{PASSWORD, TestApp},
};

db_test!(
    stage_moves_follow_the_rules,
    a_batch_checks_every_history_and_writes_nothing_when_one_breaks,
    visits_need_a_company_and_sum_their_headcounts,
    resolving_a_blocker_needs_a_leader,
    sign_in_locks_after_repeated_failures,
);

fn day(s: &str) -> Day {
    Day::parse("date", s.parse::<NaiveDate>().unwrap()).unwrap()
}

/// An actor of the given role on the test user of that role.
fn actor(app: &TestApp, role: &'static str) -> Actor {
    let r = match role {
        "admin" => Role::Admin,
        "leader" => Role::Leader,
        "staff" => Role::Staff,
        _ => Role::Viewer,
    };
    Actor {
        user_id: app.user_ids[role],
        username: role.into(),
        display_name: role.into(),
        role: r,
        via: invest_crm::service::actor::Via::Session(0),
        separated: false,
    }
}

async fn company(db: &DatabaseConnection, name: &str) -> i64 {
    let c = companies::NewCompany {
        industry: Some(Short::parse("industry", "新材料").unwrap()),
        ..companies::NewCompany::named(Name::parse("name", name).unwrap())
    };
    companies::create(db, c).await.unwrap().id
}

fn new_project(company_id: i64, name: &str, on: &str) -> NewProject {
    NewProject {
        agreed_investment: Some(Money::from_wan("agreed_investment", "1.5".parse().unwrap()).unwrap()),
        ..NewProject::named(
            Name::parse("name", name).unwrap(),
            company_id,
            ProjectStage::Lead,
            day(on),
        )
    }
}

fn to(stage: ProjectStage, on: &str, reason: Option<&str>) -> StageMove<ProjectStage> {
    StageMove {
        stage,
        occurred_on: day(on),
        note: None,
        reason: Note::parse_opt("reason", reason).unwrap(),
        version: None,
    }
}

/// The error of an operation that must fail.
#[track_caller]
fn fails<T>(r: Result<T, AppError>) -> AppError {
    match r {
        Ok(_) => panic!("the operation should have been refused"),
        Err(e) => e,
    }
}

fn code(e: &AppError) -> &'static str {
    e.code().into()
}

async fn stage_moves_follow_the_rules(app: TestApp) {
    let db = &app.db;
    let (staff, leader) = (actor(&app, "staff"), actor(&app, "leader"));
    let c = company(db, "万维无人机科技有限公司").await;
    let p = projects::create(db, &staff, new_project(c, "万维无人机研发生产基地", "2024-01-10"))
        .await
        .unwrap();
    assert_eq!(
        p.project.industry.as_deref(),
        Some("新材料"),
        "the company's industry by default"
    );
    let id = p.project.id;
    // Forward may skip stages: signed on 03-15 also reaches negotiation that day.
    projects::move_stage(db, &staff, id, to(ProjectStage::Signed, "2024-03-15", None))
        .await
        .unwrap();
    let v = projects::get(db, id).await.unwrap();
    assert_eq!(v.history.current(v.project.stage), ProjectStage::Signed);
    let reached: Vec<_> = v.history.reach_dates();
    assert!(reached.contains(&(ProjectStage::Negotiating, "2024-03-15".parse().unwrap())));
    // Backward needs a reason, and a leader.
    let e = fails(projects::move_stage(db, &leader, id, to(ProjectStage::Negotiating, "2024-04-01", None)).await);
    assert_eq!(code(&e), "reason_required");
    let e = fails(
        projects::move_stage(
            db,
            &staff,
            id,
            to(ProjectStage::Negotiating, "2024-04-01", Some("协议取消")),
        )
        .await,
    );
    assert_eq!(code(&e), "backward_move_forbidden");
    // The history is chronological.
    let e = fails(projects::move_stage(db, &leader, id, to(ProjectStage::Landed, "2024-03-01", None)).await);
    assert_eq!(code(&e), "event_before_latest");
    // A stale version changes nothing.
    let mut m = to(ProjectStage::Landed, "2024-05-20", None);
    m.version = Some(1);
    assert_eq!(
        code(&fails(projects::move_stage(db, &staff, id, m).await)),
        "stale_version"
    );
    assert_eq!(projects::stage_history(db, id).await.unwrap().len(), 2);
    assert_eq!(projects::get(db, id).await.unwrap().project.version, 2);
}

async fn a_batch_checks_every_history_and_writes_nothing_when_one_breaks(app: TestApp) {
    let db = &app.db;
    let leader = actor(&app, "leader");
    let c = company(db, "福美新材料科技有限公司").await;
    let good = |name: &str| ProjectWithHistory {
        project: new_project(c, name, "2023-02-01"),
        moves: vec![
            to(ProjectStage::Negotiating, "2023-03-01", None),
            to(ProjectStage::Signed, "2023-06-01", None),
            to(ProjectStage::Negotiating, "2023-09-01", Some("协议取消,重新洽谈")),
        ],
    };
    // The second project moves backward without a reason: the whole batch is refused with that rule.
    let bad = ProjectWithHistory {
        project: new_project(c, "违规项目", "2023-02-01"),
        moves: vec![
            to(ProjectStage::Signed, "2023-03-01", None),
            to(ProjectStage::Lead, "2023-04-01", None),
        ],
    };
    let txn = db.begin().await.unwrap();
    let e = fails(projects::create_many(&txn, &leader, vec![good("甲项目"), bad]).await);
    assert_eq!(code(&e), "reason_required");
    drop(txn);
    let none = projects::list(
        db,
        Default::default(),
        invest_crm::service::Paging::new(None, None).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(none.total, Some(0), "nothing of a refused batch is written");
    // A valid batch ends where the same moves one at a time end.
    let txn = db.begin().await.unwrap();
    let ids = projects::create_many(&txn, &leader, vec![good("乙项目")])
        .await
        .unwrap();
    sea_orm::TransactionSession::commit(txn).await.unwrap();
    let v = projects::get(db, ids[0]).await.unwrap();
    assert_eq!(v.history.current(v.project.stage), ProjectStage::Negotiating);
    assert_eq!(
        v.project.version, 4,
        "one version per event, as with moves one at a time"
    );
    assert_eq!(v.history.len(), 4);
    assert_eq!(v.funds_arrived.as_yuan(), 0);
    assert_eq!(v.project.agreed_investment_yuan, Some(15_000));
}

async fn visits_need_a_company_and_sum_their_headcounts(app: TestApp) {
    let db = &app.db;
    let c = company(db, "华元通电子科技有限公司").await;
    let visit = |companies: Vec<i64>, headcount: i64| visits::NewVisit {
        visit_date: day("2024-03-01"),
        headcount,
        company_ids: companies,
        project_ids: Vec::new(),
        receiving_leaders: Some(vec!["王建国".into()]),
        staff: None,
        purpose: None,
        summary: None,
        owner_id: None,
    };
    let actor = &invest_crm::service::Actor::system("test");
    assert_eq!(
        code(&fails(visits::create(db, actor, visit(vec![], 5)).await)),
        "invalid_value"
    );
    assert_eq!(
        code(&fails(visits::create(db, actor, visit(vec![c], 0)).await)),
        "invalid_value"
    );
    assert_eq!(
        code(&fails(visits::create(db, actor, visit(vec![c + 1000], 5)).await)),
        "unknown_company"
    );
    visits::create(db, actor, visit(vec![c, c], 5)).await.unwrap();
    let txn = db.begin().await.unwrap();
    visits::create_many(&txn, actor, vec![visit(vec![c], 7), visit(vec![c], 9)])
        .await
        .unwrap();
    sea_orm::TransactionSession::commit(txn).await.unwrap();
    let paging = invest_crm::service::Paging::new(Some(1), Some(2)).unwrap();
    let (page, person_times) = visits::list(db, Default::default(), paging).await.unwrap();
    assert_eq!((page.total, person_times, page.items.len()), (Some(3), Some(21), 2));
    assert!(
        page.items.iter().all(|v| v.company_ids == vec![c]),
        "one link per company"
    );
}

async fn resolving_a_blocker_needs_a_leader(app: TestApp) {
    let db = &app.db;
    let (staff, leader) = (actor(&app, "staff"), actor(&app, "leader"));
    let c = company(db, "恒丰厨具制造有限公司").await;
    let p = projects::create(db, &staff, new_project(c, "恒丰厨具生产线项目", "2024-01-10"))
        .await
        .unwrap()
        .project
        .id;
    let blocker = |status, resolution: Option<&str>| blockers::NewBlocker {
        title: Name::parse("title", "用地指标未落实").unwrap(),
        category: BlockerCategory::Land,
        owner_unit: None,
        assigned_leader: None,
        opened_on: Some("2024-02-01".parse().unwrap()),
        due_date: None,
        status: Some(status),
        resolution: resolution.map(|r| visits::Summary::parse("resolution", r).unwrap()),
        resolved_on: resolution.map(|_| "2024-03-01".parse().unwrap()),
    };
    let e = fails(blockers::create(db, &leader, p, blocker(BlockerStatus::Resolved, None)).await);
    assert_eq!(code(&e), "resolution_required");
    let e = fails(blockers::create(db, &staff, p, blocker(BlockerStatus::Resolved, Some("调剂指标"))).await);
    assert!(matches!(e, AppError::Forbidden { .. }), "{e}");
    assert!(!staff.can(Need::Lead) && leader.can(Need::Lead));
    let b = blockers::create(db, &leader, p, blocker(BlockerStatus::Resolved, Some("调剂指标")))
        .await
        .unwrap();
    assert_eq!(b.blocker.status, BlockerStatus::Resolved);
    assert!(!b.overdue);
}

async fn sign_in_locks_after_repeated_failures(app: TestApp) {
    let db = &app.db;
    let cfg = AuthConfig {
        account_lockout_attempts: 8,
        ..AuthConfig::default()
    };
    let gate = &sessions::SignInGate::new(1000);
    let attempt = |password: &'static str, addr: &str| SignIn {
        username: "staff",
        password,
        client_addr: Some(addr.into()),
        user_agent: None,
    };
    for _ in 0..cfg.lockout_attempts {
        let e = fails(sessions::sign_in(db, &cfg, gate, attempt("wrong password!", "198.51.100.7")).await);
        assert!(matches!(e, AppError::Unauthorized));
    }
    // Locked for the guessing address: even the right password is refused there, with the same answer.
    let e = fails(sessions::sign_in(db, &cfg, gate, attempt(PASSWORD, "198.51.100.7")).await);
    assert!(matches!(e, AppError::Unauthorized));
    // The stranger has not locked the owner out: from the owner's own address the right password works.
    assert!(
        sessions::sign_in(db, &cfg, gate, attempt(PASSWORD, "10.1.2.3"))
            .await
            .is_ok()
    );

    // Guessing spread over many addresses locks the account for everyone after `account_lockout_attempts`.
    for i in 0..cfg.account_lockout_attempts {
        let addr = format!("203.0.113.{i}");
        let e = fails(sessions::sign_in(db, &cfg, gate, attempt("wrong password!", &addr)).await);
        assert!(matches!(e, AppError::Unauthorized));
    }
    let e = fails(sessions::sign_in(db, &cfg, gate, attempt(PASSWORD, "10.9.9.9")).await);
    assert!(matches!(e, AppError::Unauthorized), "locked everywhere");
    // Until an operator lifts the lock (`invest-crm user unlock`), which also lifts the address locks.
    invest_crm::service::accounts::unlock(db, app.user_ids["staff"])
        .await
        .unwrap();
    assert!(
        sessions::sign_in(db, &cfg, gate, attempt(PASSWORD, "10.9.9.9"))
            .await
            .is_ok()
    );
    assert!(
        sessions::sign_in(db, &cfg, gate, attempt(PASSWORD, "198.51.100.7"))
            .await
            .is_ok()
    );
    let admin = sessions::sign_in(
        db,
        &cfg,
        gate,
        SignIn {
            username: "admin",
            password: PASSWORD,
            client_addr: None,
            user_agent: None,
        },
    )
    .await
    .unwrap();
    assert!(admin.token.starts_with("ics_"));
}
