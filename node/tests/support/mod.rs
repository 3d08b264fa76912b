//! A node on a free loopback port over a temporary SQLite file, serving the shipped digits MLP
//! compiled with the test setup.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use zkinfer_circuits::planner::Objective;
use zkinfer_node::{serve, Models, NodeConfig, Served};
use zkinfer_pipeline::{compile, Calibration, Loaded, Silent, Source, Target};
use zkinfer_quant_models::io::{read_calibration, read_input};
use zkinfer_quant_models::QuantConfig;

pub fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp")
}

/// The shipped sample input.
pub fn sample() -> Vec<Vec<f64>> {
    read_input(&model_dir().join("input.json")).unwrap().input_data
}

/// ONNX bytes and calibration samples.
type Files = (Vec<u8>, Vec<Vec<Vec<f64>>>);

/// The digits MLP, compiled for each node (its files read once per test binary).
pub fn served() -> Served {
    static ONNX: OnceLock<Files> = OnceLock::new();
    let (onnx, samples) = ONNX.get_or_init(|| {
        let dir = model_dir();
        (std::fs::read(dir.join("model.onnx")).unwrap(), read_calibration(&dir.join("calibration.json")).unwrap())
    });
    let calibration = Calibration { samples: samples.clone(), labels: Vec::new() };
    let target =
        Target { config: QuantConfig::default(), public_input: true, objective: Objective::ProveTime, srs: None };
    let art = compile(Source { onnx, name: "digits-mlp", batch: 1 }, &calibration, target, &Silent).unwrap();
    let vk = art.key.verifier.to_bytes();
    Served { card: art.card, vk, loaded: Loaded { compiled: art.compiled, key: art.key, params: art.params } }
}

/// A running node: its address, model id, database and the handle that stops it.
pub struct Node {
    pub base: String,
    pub model_id: String,
    pub db: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: TempDir,
}

impl Node {
    /// Starts a node; `adjust` changes its configuration.
    pub async fn start(adjust: impl FnOnce(&mut NodeConfig)) -> Node {
        let dir = TempDir::new();
        let db = format!("sqlite://{}", dir.0.join("node.db").display());
        let mut config = NodeConfig::new(&db);
        config.poll = Duration::from_millis(50);
        adjust(&mut config);
        let served = served();
        let model_id = served.card.model_id.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            serve(listener, config, Models::new(vec![served]), shutdown).await.unwrap();
        });
        // Up (its database migrated) once it answers.
        for _ in 0..200 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Node { base, model_id, db, stop: Some(stop), task: Some(task), _dir: dir }
    }

    /// Stops the node gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("zkinfer-node-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
