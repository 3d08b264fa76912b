//! The node end to end in one process: a buyer submits, follows and verifies; every kind of bad
//! request gets its status and a JSON error naming the problem; tokens and limits hold.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::{sample, Node};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkinfer_client::api::{ErrorBody, JobState};
use zkinfer_client::{check, Client, ClientError};
use zkinfer_node::{hash_secret, new_token, Store};
use zkinfer_verifier::{ModelId, Policy};

const POLICY: Policy = Policy { allow_insecure_srs: true };

async fn error_of(response: reqwest::Response) -> (StatusCode, ErrorBody) {
    let status = response.status();
    let body: ErrorBody = response.json().await.expect("every error reply is JSON {code, message}");
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_submits_follows_and_verifies_a_job() {
    let node = Node::start(|c| c.open = true).await;
    let client = Client::new(&node.base, None);
    let pinned: ModelId = node.model_id.parse().unwrap();
    let key = client.verifier_key(&pinned).await.unwrap();
    let input = sample();

    let first = client.submit(&node.model_id, &input, Some("order-1")).await.unwrap();
    // The same idempotency key returns the same job, not a second one.
    let again = client.submit(&node.model_id, &input, Some("order-1")).await.unwrap();
    assert_eq!(again.id, first.id);

    // Server-sent events end with the final state.
    let events =
        reqwest::get(format!("{}/v1/jobs/{}/events", node.base, first.id)).await.unwrap().text().await.unwrap();
    assert!(events.contains("event: done"), "{events}");

    let view = client.wait(&first.id, Duration::from_millis(50), Duration::from_secs(60), |_| {}).await.unwrap();
    assert_eq!(view.state, JobState::Done);
    assert_eq!(view.attempts, 1);
    let report = view.report.clone().unwrap();
    assert!(report.prove_ms > 0.0 && report.proof_bytes > 0 && report.overhead > 1.0, "{report:?}");
    let bundle = view.bundle.unwrap();
    let verified = check(&bundle, &key, &pinned, POLICY, &input).unwrap();
    assert_eq!(verified.outputs[0].values.len(), 10);
    // The proof is of the input sent, not of another one.
    let mut other = input.clone();
    other[0][5] += 0.25;
    assert!(check(&bundle, &key, &pinned, POLICY, &other).is_err());
    // Without the test-setup allowance, the buyer refuses the forgeable setup.
    assert!(check(&bundle, &key, &pinned, Policy { allow_insecure_srs: false }, &input).is_err());

    let metrics = reqwest::get(format!("{}/metrics", node.base)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("zkinfer_jobs{state=\"done\"} 1"), "{metrics}");
    assert!(metrics.contains("zkinfer_prove_seconds_count 1"), "{metrics}");
    assert!(metrics.contains("zkinfer_queue_depth 0"), "{metrics}");
    let models: serde_json::Value =
        reqwest::get(format!("{}/v1/models", node.base)).await.unwrap().json().await.unwrap();
    assert_eq!(models[0]["model_id"], node.model_id.as_str());
    let spec: serde_json::Value =
        reqwest::get(format!("{}/v1/openapi.json", node.base)).await.unwrap().json().await.unwrap();
    assert!(spec["paths"]["/v1/jobs"]["post"].is_object());
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_for_another_model_is_refused_by_the_client() {
    let node = Node::start(|c| c.open = true).await;
    let client = Client::new(&node.base, None);
    let mut other: ModelId = node.model_id.parse().unwrap();
    other.0[0] ^= 1;
    // The node serves no such model; and it could not pass another key off as it.
    assert!(matches!(client.verifier_key(&other).await, Err(ClientError::Refused { status: 404, .. })));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_status_and_a_json_error() {
    let node = Node::start(|c| {
        c.open = true;
        c.max_body = 64 << 10;
        c.body_timeout = Duration::from_millis(500);
    })
    .await;
    let http = reqwest::Client::new();
    let post = |body: String| http.post(format!("{}/v1/jobs", node.base)).body(body).send();
    let id = &node.model_id;
    let row = |n: usize, v: &str| vec![v; n].join(",");
    let cases: Vec<(String, StatusCode, &str)> = vec![
        ("{not json".into(), StatusCode::BAD_REQUEST, "bad_json"),
        (
            format!(r#"{{"model_id":"{id}","input":[[{}]],"extra":1}}"#, row(64, "0")),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (format!(r#"{{"model_id":"{id}","input":[[{}]]}}"#, row(63, "0")), StatusCode::BAD_REQUEST, "wrong_shape"),
        (format!(r#"{{"model_id":"{id}","input":[[{}],[0]]}}"#, row(64, "0")), StatusCode::BAD_REQUEST, "wrong_shape"),
        (format!(r#"{{"model_id":"{id}","input":[[NaN,{}]]}}"#, row(63, "0")), StatusCode::BAD_REQUEST, "bad_json"),
        (format!(r#"{{"model_id":"{id}","input":[[1e9,{}]]}}"#, row(63, "0")), StatusCode::BAD_REQUEST, "out_of_range"),
        (
            format!(r#"{{"model_id":"{}","input":[[{}]]}}"#, "ab".repeat(32), row(64, "0")),
            StatusCode::NOT_FOUND,
            "unknown_model",
        ),
        (
            format!(r#"{{"model_id":"{id}","input":[[{}]]}}"#, row(40_000, "0")),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let (got, error) = error_of(post(body.clone()).await.unwrap()).await;
        assert_eq!((got, error.code.as_str()), (status, code), "{}: {}", &body[..body.len().min(80)], error.message);
        assert!(!error.message.is_empty());
    }
    let (status, error) = error_of(reqwest::get(format!("{}/v1/jobs/nope", node.base)).await.unwrap()).await;
    assert_eq!((status, error.code.as_str()), (StatusCode::NOT_FOUND, "unknown_job"));

    // A body that trickles in slower than the limit is cut off with 408.
    let address = node.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!("POST /v1/jobs HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"mo");
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut reply)).await.ok();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("\"code\":\"body_timeout\""), "{reply}");

    // Nothing of the above was queued.
    let metrics = reqwest::get(format!("{}/metrics", node.base)).await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("zkinfer_jobs{state=\"queued\"} 1"), "{metrics}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_required_limited_and_revocable() {
    let node = Node::start(|_| {}).await;
    let store = Store::open(&node.db).await.unwrap();
    let (record, secret) = new_token("buyer", 2, 100);
    store.add_token(&record, &hash_secret(&secret)).await.unwrap();
    let input = sample();

    let anonymous = Client::new(&node.base, None);
    assert!(matches!(
        anonymous.submit(&node.model_id, &input, None).await,
        Err(ClientError::Refused { status: 401, .. })
    ));
    let forged = Client::new(&node.base, Some("zki_not-a-token".into()));
    assert!(matches!(forged.submit(&node.model_id, &input, None).await, Err(ClientError::Refused { status: 401, .. })));

    let buyer = Client::new(&node.base, Some(secret.clone()));
    let job = buyer.submit(&node.model_id, &input, None).await.unwrap();
    buyer.submit(&node.model_id, &input, None).await.unwrap();
    // The third in the same minute is over the token's rate, with a Retry-After.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/jobs", node.base))
        .bearer_auth(&secret)
        .json(&serde_json::json!({ "model_id": node.model_id, "input": input }))
        .send()
        .await
        .unwrap();
    let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    let (status, error) = error_of(response).await;
    assert_eq!((status, error.code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| (1..=60).contains(&s))));

    // Another token cannot see the job.
    let (other, other_secret) = new_token("other", 10, 10);
    store.add_token(&other, &hash_secret(&other_secret)).await.unwrap();
    let stranger = Client::new(&node.base, Some(other_secret));
    assert!(matches!(stranger.job(&job.id).await, Err(ClientError::Refused { status: 404, .. })));

    assert!(store.revoke(&record.id).await.unwrap());
    assert!(matches!(buyer.job(&job.id).await, Err(ClientError::Refused { status: 401, .. })));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_jobs_at_once_for_a_token_get_429() {
    // No worker picks jobs up quickly enough to free the slot: concurrency 1, three submissions.
    let node = Node::start(|c| c.workers = 1).await;
    let store = Store::open(&node.db).await.unwrap();
    let (record, secret) = new_token("one-at-a-time", 100, 1);
    store.add_token(&record, &hash_secret(&secret)).await.unwrap();
    let buyer = Client::new(&node.base, Some(secret));
    let input = sample();
    let first = buyer.submit(&node.model_id, &input, None).await.unwrap();
    let refused = buyer.submit(&node.model_id, &input, None).await;
    assert!(
        matches!(refused, Err(ClientError::Refused { status: 429, ref code, .. }) if code == "too_many_jobs"),
        "{refused:?}"
    );
    let done = buyer.wait(&first.id, Duration::from_millis(50), Duration::from_secs(60), |_| {}).await.unwrap();
    assert_eq!(done.state, JobState::Done);
    // The slot is free again.
    buyer.submit(&node.model_id, &input, None).await.unwrap();
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_is_not_proven() {
    let node = Node::start(|c| {
        c.open = true;
        c.workers = 1;
    })
    .await;
    let client = Client::new(&node.base, None);
    let input = sample();
    let ids: Vec<String> = futures_util::future::join_all((0..6).map(|_| client.submit(&node.model_id, &input, None)))
        .await
        .into_iter()
        .map(|s| s.unwrap().id)
        .collect();
    let last = ids.last().unwrap();
    let response = reqwest::Client::new().delete(format!("{}/v1/jobs/{last}", node.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for id in &ids {
        client.wait(id, Duration::from_millis(50), Duration::from_secs(60), |_| {}).await.unwrap();
    }
    let view = client.job(last).await.unwrap();
    // Cancelled before or while it ran: either way no result is stored for it.
    assert_eq!(view.state, JobState::Cancelled);
    assert!(view.bundle.is_none());
    node.stop().await;
}
