//! 系统管理 (admins only): users — create, role, department (部门), data scope (数据权限), disable, reset password —
//! and the departments they belong to. The same service operations and rules as `/api/v1/users` and
//! `/api/v1/departments`.

use std::collections::HashMap;

use entity::{
    enums::{DataScope, Label, Role},
    user,
};
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Form, Html, Path},
};
use sea_orm::{ActiveEnum, ConnectionTrait};
use serde::{Deserialize, Serialize};

use super::{Staff, WebState, answer, choice, form, me, refresh, render, saved, val};
use crate::{
    edge::audit::WriteTx,
    service::{
        Actor, AppError, AppResult, Need,
        accounts::{self, NewUser, Password, UserChanges, Username},
        departments::{self, NewDepartment},
        input::{Name, Patch, Short, email},
        people,
        scope::scope_of,
    },
};

/// The departments by id, with their names, for the pickers and the list.
async fn departments_of(db: &impl ConnectionTrait) -> AppResult<(Vec<Value>, HashMap<i64, String>)> {
    let all = departments::list(db).await?;
    let names: HashMap<i64, String> = all.iter().map(|d| (d.id, d.name.clone())).collect();
    let options = all
        .iter()
        .map(|d| {
            let parent = d.parent_id.and_then(|p| names.get(&p).cloned());
            context! { value => d.id.to_string(), label => d.name.clone(), parent }
        })
        .collect();
    Ok((options, names))
}

fn row(u: &user::Model, depts: &HashMap<i64, String>) -> Value {
    context! {
        id => u.id, username => u.username.clone(), name => u.display_name.clone(), email => u.email.clone(),
        role => u.role.label(), department => u.department_id.and_then(|d| depts.get(&d).cloned()),
        scope => scope_of(u).label(), scope_set => u.data_scope.is_some(),
        disabled => u.disabled, reminders => u.reminders, weekly => u.weekly_report,
        role_value => u.role.to_value(),
    }
}

/// The Chinese name of a table with owners.
fn unowned_label(table: &str) -> &'static str {
    match table {
        "projects" => "招商项目",
        "blockers" => "难题",
        "visits" => "来访接待",
        "outreach" => "招商活动",
        "follow_ups" => "跟进记录",
        "incubation_candidates" => "高企培育",
        _ => "其他",
    }
}

/// 用户与部门, and what names no account (as `invest-crm migrate report-unlinked` lists it).
#[handler]
pub async fn users(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Users)?;
    let (departments, names) = departments_of(&state.db).await?;
    let users: Vec<Value> = accounts::all_users(&state.db)
        .await?
        .iter()
        .map(|u| row(u, &names))
        .collect();
    let u = people::unlinked(&state.db).await?;
    let unlinked = context! {
        leaders => u.leaders.iter().map(|(id, name, leader)| context! { id, name, leader }).collect::<Vec<_>>(),
        unowned => u.unowned.iter().filter(|(_, n)| *n > 0).map(|(table, n)| context! { table => unowned_label(table), n }).collect::<Vec<_>>(),
    };
    render(
        "admin_users.html",
        context! { me => me(&staff), menu => "admin", users, departments, unlinked },
    )
}

/// A user's form, as typed.
#[derive(Deserialize, Serialize, Default)]
pub struct UserForm {
    username: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    department_id: Option<String>,
    data_scope: Option<String>,
    password: Option<String>,
    disabled: Option<String>,
    reminders: Option<String>,
    weekly_report: Option<String>,
    version: Option<i32>,
}

impl UserForm {
    fn text(v: &Option<String>) -> &str {
        form::opt(v).unwrap_or_default()
    }

    fn role(&self) -> AppResult<Role> {
        choice::<Role>("role", &self.role)?.ok_or_else(|| AppError::invalid("role", "role is required", "请选择角色"))
    }

    fn new_user(&self) -> AppResult<NewUser> {
        Ok(NewUser {
            username: Username::parse("username", Self::text(&self.username))?,
            display_name: Short::parse("display_name", Self::text(&self.display_name))?,
            email: email("email", form::opt(&self.email))?,
            role: self.role()?,
            password: Password::parse("password", Self::text(&self.password))?,
            department_id: form::int("department_id", &self.department_id)?,
            data_scope: choice::<DataScope>("data_scope", &self.data_scope)?,
        })
    }

    /// The changes the form makes to `u`: only what differs, and of that only what `actor` may change (the form
    /// shows the rest disabled, so it is not sent).
    fn changes(&self, u: &user::Model, actor: &Actor) -> AppResult<UserChanges> {
        let mut c = UserChanges {
            version: self.version.unwrap_or_default(),
            ..Default::default()
        };
        if actor.can(Need::Security) {
            let role = self.role()?;
            c.role = (role != u.role).then_some(role);
            let scope = choice::<DataScope>("data_scope", &self.data_scope)?;
            if scope != u.data_scope {
                c.data_scope = Patch::from_opt(scope);
            }
        }
        if actor.can(Need::Admin) {
            let name = Short::parse("display_name", Self::text(&self.display_name))?;
            c.display_name = (name.as_str() != u.display_name).then_some(name);
            let email = email("email", form::opt(&self.email))?;
            if email != u.email {
                c.email = Patch::from_opt(email);
            }
            c.password = form::opt(&self.password)
                .map(|p| Password::parse("password", p))
                .transpose()?;
            let department = form::int("department_id", &self.department_id)?;
            if department != u.department_id {
                c.department_id = Patch::from_opt(department);
            }
            let changed = |on: &Option<String>, was: bool| (on.is_some() != was).then_some(on.is_some());
            c.disabled = changed(&self.disabled, u.disabled);
            c.reminders = changed(&self.reminders, u.reminders);
            c.weekly_report = changed(&self.weekly_report, u.weekly_report);
        }
        Ok(c)
    }
}

async fn user_ctx(db: &impl ConnectionTrait, staff: &Staff, id: Option<i64>, f: &UserForm) -> AppResult<Value> {
    let (departments, _) = departments_of(db).await?;
    Ok(context! { me => me(staff), id, f => val(f), departments })
}

/// 新建用户 dialog.
#[handler]
pub async fn new_user_dialog(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Admin)?;
    let f = UserForm {
        role: Some(Role::Staff.to_value()),
        reminders: Some("on".into()),
        ..Default::default()
    };
    render("user_form.html", user_ctx(&state.db, &staff, None, &f).await?)
}

/// Creates a user; the page reloads.
#[handler]
pub async fn create_user(staff: Staff, tx: WriteTx, Form(f): Form<UserForm>) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    let done = async {
        let new = f.new_user()?;
        accounts::may_create(&staff.actor, &new)?;
        accounts::create_user(tx.get().await?, new).await
    }
    .await;
    answer(
        done,
        |_| saved(refresh(), "用户已创建"),
        "user_form.html",
        async || user_ctx(tx.get().await?, &staff, None, &f).await,
    )
    .await
}

/// 编辑用户 dialog.
#[handler]
pub async fn edit_user_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Users)?;
    let u = accounts::get_user(&state.db, id).await?;
    let on = |b: bool| b.then(|| "on".to_owned());
    let f = UserForm {
        username: Some(u.username.clone()),
        display_name: Some(u.display_name.clone()),
        email: u.email.clone(),
        role: Some(u.role.to_value()),
        department_id: u.department_id.map(|d| d.to_string()),
        data_scope: u.data_scope.map(|s| s.to_value()),
        disabled: on(u.disabled),
        reminders: on(u.reminders),
        weekly_report: on(u.weekly_report),
        version: Some(u.version),
        password: None,
    };
    render("user_form.html", user_ctx(&state.db, &staff, Some(id), &f).await?)
}

/// Saves a user's changes (a new password ends their sessions); the page reloads.
#[handler]
pub async fn update_user(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<UserForm>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Users)?;
    let done = async {
        let db = tx.get().await?;
        let u = accounts::get_user(db, id).await?;
        accounts::update_user(db, &staff.actor, id, f.changes(&u, &staff.actor)?).await
    }
    .await;
    answer(
        done,
        |_| saved(refresh(), "用户已保存"),
        "user_form.html",
        async || user_ctx(tx.get().await?, &staff, Some(id), &f).await,
    )
    .await
}

/// A department's form, as typed.
#[derive(Deserialize, Serialize, Default)]
pub struct DepartmentForm {
    name: Option<String>,
    parent_id: Option<String>,
}

/// 新建部门 dialog.
#[handler]
pub async fn new_department_dialog(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Admin)?;
    let (departments, _) = departments_of(&state.db).await?;
    let f = DepartmentForm::default();
    render(
        "department_form.html",
        context! { me => me(&staff), f => val(&f), departments },
    )
}

/// Creates a department; the page reloads.
#[handler]
pub async fn create_department(staff: Staff, tx: WriteTx, Form(f): Form<DepartmentForm>) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    let done = async {
        let n = NewDepartment {
            name: Name::parse("name", UserForm::text(&f.name))?,
            parent_id: form::int("parent_id", &f.parent_id)?,
        };
        departments::create(tx.get().await?, n).await
    }
    .await;
    answer(
        done,
        |_| saved(refresh(), "部门已创建"),
        "department_form.html",
        async || {
            let (departments, _) = departments_of(tx.get().await?).await?;
            Ok(context! { me => me(&staff), f => val(&f), departments })
        },
    )
    .await
}
