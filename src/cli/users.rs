//! `invest-crm user …`: accounts from the command line, through the account service.

use sea_orm::{ActiveEnum, DatabaseConnection};

use super::args::UserAction;
use crate::service::{
    accounts::{self, NewUser, Password, Username},
    input::{Short, email},
};

/// Runs one user command.
pub async fn run(conn: &DatabaseConnection, action: UserAction) -> anyhow::Result<()> {
    match action {
        UserAction::Add {
            username,
            role,
            display_name,
            email: address,
        } => {
            let password = read_password(&username)?;
            let name = display_name.unwrap_or_else(|| username.clone());
            let new = NewUser {
                username: Username::parse("username", &username)?,
                display_name: Short::parse("display_name", &name)?,
                email: email("email", address.as_deref())?,
                role: role.into(),
                password: Password::parse("password", &password)?,
                department_id: None,
                data_scope: None,
            };
            let u = accounts::create_user(conn, new).await?;
            println!("created user {} ({})", u.username, u.role.to_value());
        }
        UserAction::List => {
            println!(
                "{:<6} {:<20} {:<8} {:<9} {:<30} name",
                "id", "username", "role", "status", "email"
            );
            for u in accounts::all_users(conn).await? {
                let status = if u.disabled { "disabled" } else { "active" };
                let role = u.role.to_value();
                let email = u.email.unwrap_or_default();
                println!(
                    "{:<6} {:<20} {role:<8} {status:<9} {email:<30} {}",
                    u.id, u.username, u.display_name
                );
            }
        }
        UserAction::Disable { username } => {
            accounts::set_disabled(conn, find(conn, &username).await?, true).await?;
            println!("disabled {username}");
        }
        UserAction::Enable { username } => {
            accounts::set_disabled(conn, find(conn, &username).await?, false).await?;
            println!("enabled {username}");
        }
        UserAction::Unlock { username } => {
            accounts::unlock(conn, find(conn, &username).await?).await?;
            println!("unlocked {username}");
        }
        UserAction::ResetPassword { username } => {
            let id = find(conn, &username).await?;
            let password = Password::parse("password", &read_password(&username)?)?;
            accounts::reset_password(conn, id, password).await?;
            println!("new password set for {username}; their sessions have ended");
        }
    }
    Ok(())
}

async fn find(conn: &DatabaseConnection, username: &str) -> anyhow::Result<i64> {
    accounts::find_user(conn, username)
        .await
        .map(|u| u.id)
        .map_err(|_| anyhow::anyhow!("there is no user {username}"))
}

/// The password for a user: prompted twice on a terminal, else the first line of standard input.
fn read_password(username: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {username}: "))?;
        let second = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
