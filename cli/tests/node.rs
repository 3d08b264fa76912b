//! Provider nodes as real processes: a node killed with SIGKILL while proving loses no job and
//! proves none twice; two nodes on one PostgreSQL share the queue; a node that tampers with a
//! bundle is caught by `zkinfer request`; and 32 buyers load one node.
//!
//! The PostgreSQL test needs a server: `ZKINFER_TEST_POSTGRES=postgres://…` (CI starts one with
//! `.ci/postgres.sh`). Without it the test says so and passes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use zkinfer_client::api::{JobState, JobView};
use zkinfer_client::{check, Client};
use zkinfer_verifier::{ModelId, Policy};

const POLICY: Policy = Policy { allow_insecure_srs: true };

fn sample() -> Vec<Vec<f64>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp/input.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    serde_json::from_value(json["input_data"].clone()).unwrap()
}

/// A `zkinfer serve --example digits-mlp --open` process.
struct NodeProcess {
    child: Child,
    base: String,
    model_id: String,
}

impl NodeProcess {
    fn start(db: &str, extra: &[&str]) -> NodeProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_zkinfer"));
        command.args(["serve", "--example", "digits-mlp", "--open", "--listen", "127.0.0.1:0", "--db", db]).args(extra);
        Self::start_command(command)
    }

    /// Starts `command` (a `zkinfer serve` of the digits MLP) and reads its address and model id.
    fn start_command(mut command: Command) -> NodeProcess {
        let mut child = command.env("RUST_LOG", "warn").stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the start-up lines, then keeps draining so the node never blocks on its pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut base, mut model_id) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(120);
        while base.is_none() || model_id.is_none() {
            let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("node start-up");
            if let Some(id) = line.strip_prefix("serving digits-mlp as model id ") {
                model_id = Some(id.trim().to_string());
            }
            if let Some(address) = line.strip_prefix("listening on ") {
                base = Some(address.trim().to_string());
            }
        }
        NodeProcess { child, base: base.unwrap(), model_id: model_id.unwrap() }
    }

    /// SIGKILL: no chance to finish or requeue anything.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn finished_here(&self) -> u64 {
        let text = get_text(&format!("{}/metrics", self.base));
        text.lines()
            .find(|l| l.starts_with("zkinfer_jobs_finished_total{outcome=\"done\"}"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET from synchronous test code.
fn get_text(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("zkinfer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn sqlite(&self) -> String {
        format!("sqlite://{}", self.0.join("node.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn submit_all(client: &Client, model_id: &str, n: usize) -> Vec<String> {
    let input = sample();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(client.submit(model_id, &input, None).await.unwrap().id);
    }
    ids
}

/// Waits for every job and checks each result as a buyer would.
async fn all_verified(client: &Client, model_id: &str, ids: &[String]) -> Vec<JobView> {
    let key = client.verifier_key(&model_id.parse().unwrap()).await.unwrap();
    let pinned: ModelId = model_id.parse().unwrap();
    let input = sample();
    let mut views = Vec::new();
    for id in ids {
        let view = client.wait(id, Duration::from_millis(50), Duration::from_secs(300), |_| {}).await.unwrap();
        assert_eq!(view.state, JobState::Done, "job {id}: {:?}", view.error);
        check(view.bundle.as_ref().unwrap(), &key, &pinned, POLICY, &input).unwrap();
        views.push(view);
    }
    views
}

#[test]
fn a_node_killed_while_proving_loses_no_job_and_proves_none_twice() {
    let dir = TempDir::new("crash");
    let db = dir.sqlite();
    let node = NodeProcess::start(&db, &["--lease-secs", "1"]);
    let rt = runtime();
    let client = Client::new(&node.base, None);
    let ids = rt.block_on(submit_all(&client, &node.model_id, 60));
    // Kill it once some jobs are done and others still wait.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let states: Vec<JobState> = rt.block_on(async {
            let mut s = Vec::new();
            for id in &ids {
                s.push(client.job(id).await.unwrap().state);
            }
            s
        });
        if states.contains(&JobState::Done) || Instant::now() > deadline {
            assert!(states.iter().any(|s| !s.is_final()), "all jobs finished before the kill; submit more");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let model_id = node.model_id.clone();
    node.kill();

    // The restarted node (same database, same model id) finishes every accepted job.
    let node = NodeProcess::start(&db, &["--lease-secs", "1"]);
    assert_eq!(node.model_id, model_id);
    let client = Client::new(&node.base, None);
    let views = rt.block_on(all_verified(&client, &model_id, &ids));
    // One result per job: a job whose first attempt died is proven by a second attempt, and
    // never stored twice.
    let retried = views.iter().filter(|v| v.attempts > 1).count();
    println!("{} jobs, all done and verified; {retried} retried after the kill", views.len());
    let metrics = get_text(&format!("{}/metrics", node.base));
    assert!(metrics.contains(&format!("zkinfer_jobs{{state=\"done\"}} {}", ids.len())), "{metrics}");
}

#[test]
fn a_node_that_tampers_with_bundles_is_caught_by_request() {
    let dir = TempDir::new("tamper");
    let node = NodeProcess::start(&dir.sqlite(), &[]);
    let rt = runtime();
    let upstream = node.base.clone();
    // A node that proves honestly but changes the answer it returns.
    let proxy = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let upstream = upstream.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 24).await.unwrap();
                let url = format!("{upstream}{}", parts.uri);
                let reply = reqwest::Client::new()
                    .request(parts.method.clone(), url)
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .send()
                    .await
                    .unwrap();
                let status = reply.status().as_u16();
                let bytes = reply.bytes().await.unwrap().to_vec();
                let bytes = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                    Ok(mut job) if job["bundle"].is_object() => {
                        let v = job["bundle"]["outputs"][0]["values"][0].as_i64().unwrap();
                        let scale = job["bundle"]["outputs"][0]["scale"].as_f64().unwrap();
                        job["bundle"]["outputs"][0]["values"][0] = (v + 1).into();
                        job["bundle"]["outputs"][0]["floats"][0] = ((v + 1) as f64 * scale).into();
                        serde_json::to_vec(&job).unwrap()
                    }
                    _ => bytes,
                };
                (axum::http::StatusCode::from_u16(status).unwrap(), bytes)
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}")
    });
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp/input.json");
    let run = |base: &str| {
        Command::new(env!("CARGO_BIN_EXE_zkinfer"))
            .args(["request", "--node", base, "--model-id", &node.model_id, "--allow-insecure-srs", "--input"])
            .arg(&input)
            .output()
            .unwrap()
    };
    let honest = run(&node.base);
    assert!(honest.status.success(), "{}", String::from_utf8_lossy(&honest.stderr));
    assert!(String::from_utf8_lossy(&honest.stdout).contains("accepted"));
    let tampered = run(&proxy);
    let stdout = String::from_utf8_lossy(&tampered.stdout);
    assert!(!tampered.status.success(), "a tampered answer was accepted: {stdout}");
    assert!(stdout.contains("rejected: proof invalid"), "{stdout}");
}

#[test]
fn two_nodes_on_one_postgres_share_the_queue() {
    let Ok(db) = std::env::var("ZKINFER_TEST_POSTGRES") else {
        println!("SKIPPED: set ZKINFER_TEST_POSTGRES=postgres://… to run the scale-out test (CI does)");
        return;
    };
    let (a, b) = (NodeProcess::start(&db, &[]), NodeProcess::start(&db, &[]));
    assert_eq!(a.model_id, b.model_id);
    let rt = runtime();
    let (client_a, client_b) = (Client::new(&a.base, None), Client::new(&b.base, None));
    // 200 jobs, all submitted to node A: node B only finds them in the shared queue.
    let ids = rt.block_on(submit_all(&client_a, &a.model_id, 200));
    let views = rt.block_on(all_verified(&client_b, &a.model_id, &ids));
    assert!(views.iter().all(|v| v.attempts == 1), "a job was claimed twice");
    let (done_a, done_b) = (a.finished_here(), b.finished_here());
    println!("node A proved {done_a}, node B {done_b}");
    assert!(done_a + done_b >= 200 && done_a > 0 && done_b > 0, "A {done_a}, B {done_b}");
}

/// 32 buyers, 500 jobs on one node over loopback, against a tight loop of the same proofs in
/// this process. Prints latency percentiles, throughputs and their ratio (the node's overhead);
/// asserts only that every job is done and verified.
#[test]
fn thirty_two_buyers_load_one_node() {
    let dir = TempDir::new("load");
    let node = NodeProcess::start(&dir.sqlite(), &["--workers", "2"]);
    let rt = runtime();
    let (jobs, buyers) = (500usize, 32usize);
    let start = Instant::now();
    let latencies: Vec<f64> = rt.block_on(async {
        let tasks: Vec<_> = (0..buyers)
            .map(|b| {
                let (client, model_id) = (Client::new(&node.base, None), node.model_id.clone());
                tokio::spawn(async move {
                    let input = sample();
                    let mut latencies = Vec::new();
                    for _ in (b..jobs).step_by(buyers) {
                        let t = Instant::now();
                        let id = client.submit(&model_id, &input, None).await.unwrap().id;
                        let view = client
                            .wait(&id, Duration::from_millis(20), Duration::from_secs(600), |_| {})
                            .await
                            .unwrap();
                        assert_eq!(view.state, JobState::Done);
                        latencies.push(t.elapsed().as_secs_f64());
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(latencies.len(), jobs);
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize];
    let node_rate = jobs as f64 / wall;

    // The same proofs back to back in one process, without HTTP or a database.
    let served = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(["bench", "--model", "digits-mlp", "--repeat", "20"])
        .output()
        .unwrap();
    let bench = String::from_utf8_lossy(&served.stdout);
    // The node's proofs include the self-check: prove s + check ms.
    let prove_s: Option<f64> = bench.lines().find(|l| l.starts_with("digits-mlp")).and_then(|l| {
        let columns: Vec<f64> = l.split_whitespace().skip(7).filter_map(|v| v.parse().ok()).collect();
        Some(columns.get(1)? + columns.get(2)? / 1e3)
    });
    println!(
        "{jobs} jobs from {buyers} buyers in {wall:.1} s: {node_rate:.1} jobs/s, latency p50 {:.0} ms, p99 {:.0} ms",
        pct(0.5) * 1e3,
        pct(0.99) * 1e3
    );
    if let Some(prove_s) = prove_s {
        println!(
            "tight in-process loop: {:.1} proofs/s (median {:.0} ms); node throughput is {:.0} % of it",
            1.0 / prove_s,
            prove_s * 1e3,
            100.0 * node_rate * prove_s
        );
    }
}

#[test]
fn tokens_are_managed_from_the_command_line_and_a_stopped_node_keeps_its_jobs() {
    let dir = TempDir::new("tokens");
    let db = dir.sqlite();
    let zkinfer = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).args(["--db", &db]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let secret = zkinfer(&["token", "add", "alice", "--per-minute", "100", "--concurrent", "50"]).trim().to_string();
    assert!(secret.starts_with("zki_"));
    let listed = zkinfer(&["token", "list"]);
    assert!(listed.contains("alice") && listed.contains("live") && !listed.contains(&secret), "{listed}");

    // A node that needs tokens; SIGTERM while it proves; the jobs are there after a restart.
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"));
    child.args(["serve", "--example", "digits-mlp", "--listen", "127.0.0.1:0", "--db", &db, "--grace-secs", "0.001"]);
    let node = NodeProcess::start_command(child);
    let rt = runtime();
    let buyer = Client::new(&node.base, Some(secret.clone()));
    let ids = rt.block_on(submit_all(&buyer, &node.model_id, 20));
    let status = Command::new("kill").args(["-TERM", &node.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut node = node;
    let exit = node.child.wait().unwrap();
    assert!(exit.success(), "the node did not stop cleanly: {exit}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"));
    child.args(["serve", "--example", "digits-mlp", "--listen", "127.0.0.1:0", "--db", &db]);
    let node = NodeProcess::start_command(child);
    let buyer = Client::new(&node.base, Some(secret.clone()));
    rt.block_on(all_verified(&buyer, &node.model_id, &ids));

    let id =
        listed.lines().find(|l| l.contains("alice")).and_then(|l| l.split_whitespace().next()).unwrap().to_string();
    zkinfer(&["token", "revoke", &id]);
    assert!(zkinfer(&["token", "list"]).contains("revoked"));
    let refused = rt.block_on(buyer.job(&ids[0]));
    assert!(matches!(refused, Err(zkinfer_client::ClientError::Refused { status: 401, .. })), "{refused:?}");
}
