//! Finding the records a row names by name: projects (a fund sheet, a blocker ledger name them; never created
//! from such a sheet) and companies (a visit register, an outreach ledger name them; created when not recorded).

use std::collections::{HashMap, HashSet};

use sea_orm::DatabaseExecutor;

use super::{Issue, Outcome, layout::Key, value::name_key};
use crate::service::{
    Actor, AppResult,
    companies::{self, NewCompany},
    imports::{self, Touched},
    input::Name,
    scope,
};

/// The projects by normalised name, with their companies' normalised names: how sheets that name a project (fund
/// arrivals, blockers) find it. Projects are never created from such a sheet.
pub struct ProjectNames(HashMap<String, Vec<(i64, String)>>);

impl ProjectNames {
    /// Every stored project the actor sees (数据权限): a project out of scope is unknown to their sheets too.
    pub async fn load(db: &DatabaseExecutor<'_>, actor: &Actor) -> AppResult<ProjectNames> {
        let visible = scope::visible(db, actor).await?;
        let mut by_name: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        for (id, name, company) in imports::project_names(db, &visible).await? {
            by_name
                .entry(name_key(&name))
                .or_default()
                .push((id, name_key(&company)));
        }
        Ok(ProjectNames(by_name))
    }

    /// The one project of this name (and company, when given); an error on the row's project cell otherwise.
    pub fn find(
        &self,
        line: usize,
        (project, at): (&Name, impl Key),
        company: Option<&Name>,
        out: &mut Outcome,
    ) -> Option<i64> {
        let candidates = self
            .0
            .get(&name_key(project.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let matching: Vec<i64> = candidates
            .iter()
            .filter(|(_, c)| company.is_none_or(|n| name_key(n.as_str()) == *c))
            .map(|(id, _)| *id)
            .collect();
        let (code, message) = match matching.as_slice() {
            [id] => return Some(*id),
            [] => (
                "unknown_project",
                format!(
                    "系统中没有项目“{}”{}",
                    project.as_str(),
                    company.map_or(String::new(), |c| format!("(企业“{}”)", c.as_str()))
                ),
            ),
            _ => ("ambiguous_project", "有多个同名项目,请填写企业名称以区分".into()),
        };
        out.error(Issue::at(line, out.column(at), Some(project.as_str()), code, message));
        None
    }
}

/// The companies by normalised name, and those the rows name that are not recorded yet (to create, each once).
/// A new company stands for itself by a negative placeholder id until it is created.
pub struct CompanyNames {
    by_key: HashMap<String, i64>,
    new: Vec<Name>,
}

impl CompanyNames {
    /// Every stored company.
    pub async fn load(db: &DatabaseExecutor<'_>) -> AppResult<CompanyNames> {
        let mut by_key = HashMap::new();
        for c in imports::companies(db).await? {
            by_key.entry(name_key(&c.name)).or_insert(c.id);
        }
        Ok(CompanyNames {
            by_key,
            new: Vec::new(),
        })
    }

    /// The ids of the named companies, sorted: a stored company's id, a placeholder for one not recorded.
    pub fn ids(&mut self, names: &[Name]) -> Vec<i64> {
        let mut ids: Vec<i64> = names
            .iter()
            .map(|n| {
                *self.by_key.entry(name_key(n.as_str())).or_insert_with(|| {
                    self.new.push(n.clone());
                    -(self.new.len() as i64)
                })
            })
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The placeholders among the id lists: the companies to create for them.
    pub fn placeholders<'a>(lists: impl Iterator<Item = &'a Vec<i64>>) -> HashSet<i64> {
        lists.flatten().copied().filter(|id| *id < 0).collect()
    }

    /// Creates the companies of the placeholders `used`; answers each placeholder's id.
    pub async fn create(
        self,
        db: &DatabaseExecutor<'_>,
        used: HashSet<i64>,
        touched: &mut Vec<Touched>,
    ) -> AppResult<HashMap<i64, i64>> {
        let mut order: Vec<i64> = used.into_iter().collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        let drafts = order
            .iter()
            .map(|i| NewCompany::named(self.new[(-i - 1) as usize].clone()))
            .collect();
        let created = companies::create_many(db, drafts).await?;
        touched.extend(created.iter().map(|id| Touched::NewCompany(*id)));
        Ok(order.into_iter().zip(created).collect())
    }
}

/// The ids with placeholders replaced by the companies created for them.
pub fn resolved(ids: Vec<i64>, created: &HashMap<i64, i64>) -> Vec<i64> {
    ids.into_iter()
        .map(|id| created.get(&id).copied().unwrap_or(id))
        .collect()
}
