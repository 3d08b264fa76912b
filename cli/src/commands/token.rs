//! `zkinfer token add|list|revoke`: buyers' bearer tokens in the node's database (stored as
//! SHA-256 hashes: the secret is shown once, at `add`).

use zkinfer_node::{hash_secret, new_token, Store};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

pub fn add(db: &str, name: &str, per_minute: u32, concurrent: u32) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = Store::open(db).await?;
        let (record, secret) = new_token(name, per_minute, concurrent);
        store.add_token(&record, &hash_secret(&secret)).await?;
        eprintln!("token `{name}` (id {}): {per_minute} jobs per minute, {concurrent} at once", record.id);
        eprintln!("the secret is shown once; the node keeps only its hash:");
        println!("{secret}");
        Ok(())
    })
}

pub fn list(db: &str) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = Store::open(db).await?;
        println!("{:<14} {:<20} {:>10} {:>10}  state", "id", "name", "per min", "at once");
        for t in store.tokens().await? {
            let state = if t.revoked_ms.is_some() { "revoked" } else { "live" };
            println!("{:<14} {:<20} {:>10} {:>10}  {state}", t.id, t.name, t.per_minute, t.concurrent);
        }
        Ok(())
    })
}

pub fn revoke(db: &str, id: &str) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = Store::open(db).await?;
        anyhow::ensure!(store.revoke(id).await?, "no live token with id `{id}`");
        eprintln!("revoked {id}");
        Ok(())
    })
}
