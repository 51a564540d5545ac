//! `@octokit/fixtures-server` for a test: started on a free port over the scenarios in
//! `tests/replay/` and Octokit's `paginate-issues` recording, stopped when dropped. Shared by the
//! collector tests and the `assure` binary's monitoring tests (included there by `#[path]`).

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running fixtures server.
pub struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server; `repo` is the repository's root.
    pub fn start(repo: &Path) -> Server {
        let install = repo.join("tests/fixtures-server/node_modules/@octokit");
        assert!(
            install.join("fixtures-server/bin/server.js").exists(),
            "@octokit/fixtures-server is not installed: run `npm ci` in tests/fixtures-server (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let scenarios = repo.join("crates/assure-collect/tests/replay");
        for e in std::fs::read_dir(&scenarios).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
            }
        }
        std::fs::copy(
            install.join("fixtures/scenarios/api.github.com/paginate-issues/normalized-fixture.json"),
            dir.path().join("paginate-issues.json"),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("node")
            .arg(install.join("fixtures-server/bin/server.js"))
            .args([
                "--port",
                &port.to_string(),
                "--log-level",
                "error",
                "--fixtures",
                "*.json",
            ])
            .args(["--fixtures-url", &format!("http://127.0.0.1:{port}")])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is needed for the collector tests");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the fixtures server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, port, _dir: dir }
    }

    /// Loads a scenario; its base URL stands for the vendor's API root.
    pub fn load(&self, scenario: &str) -> String {
        let body = format!("{{\"scenario\":\"{scenario}\"}}");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST /fixtures HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let json = answer.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|_| panic!("{answer}"));
        v["url"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string()
    }
}
