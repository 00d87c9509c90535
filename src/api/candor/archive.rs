//! Archived files of a run (`api/candor.md` §4.1, §5, §11 R5, R7): names from the run record,
//! bytes from `GET /api/runs/:pid/:rid/archived?file=&mode=stream` (the name encoded twice),
//! streamed to disk. The wiki's `/archive` is tried once when `/archived` is an Express route
//! miss, and remembered. The route finds a run by id with no 5-run limit, but only the last 5
//! runs' names are listed anywhere.

use super::{Candor, map_error, paths, server_words};
use crate::api::ApiError;
use crate::api::http::Reply;
use crate::domain::Build;
use std::path::Path;
use tokio::io::AsyncWriteExt;

fn ids(run: &Build) -> Result<(String, String), ApiError> {
    let pid = run.project_id.clone().ok_or_else(|| {
        ApiError::Unsupported(format!(
            "run {} is not a dashboard run: only those have archived files",
            run.id
        ))
    })?;
    let rid = run.build_id.clone().ok_or_else(|| {
        ApiError::Unsupported(format!(
            "run {} has not finished: Candor archives files only at the end of a passed run",
            run.id
        ))
    })?;
    Ok((pid, rid))
}

impl Candor {
    /// The files archived by a finished run (empty when nothing was archived).
    pub async fn archived_files(&self, run: &Build) -> Result<Vec<String>, ApiError> {
        let (pid, rid) = ids(run)?;
        let pid = self.pipeline_ref(&pid).await?;
        paths::run(&rid)?;
        let key = (pid.clone(), rid.clone());
        if let Some(files) = self.seen().archived.get(&key) {
            return Ok(files.clone());
        }
        self.detail(&pid).await?;
        self.seen().archived.get(&key).cloned().ok_or_else(|| {
            ApiError::NotFound(format!(
                "run {rid} is older than the last 5 runs of pipeline {pid}: Candor lists \
                 archived file names only for those (a file of it can still be fetched by name)"
            ))
        })
    }

    /// Stream archived file `file` of `run` into `path` (written to `<path>.part`, then
    /// renamed). `progress(bytes so far, total when known)`. Returns the bytes written.
    pub async fn download_archive(
        &self,
        run: &Build,
        file: &str,
        path: &Path,
        mut progress: impl FnMut(u64, Option<u64>) + Send,
    ) -> Result<u64, ApiError> {
        let (pid, rid) = ids(run)?;
        let pid = self.pipeline_ref(&pid).await?;
        if file.is_empty() {
            return Err(ApiError::NotFound(
                "no archived file name given; nothing was sent".into(),
            ));
        }
        let file_query = format!("file={}&mode=stream", paths::archive_file(file));
        let mut replayed = false;
        let mut fell_back = false;
        let resp = loop {
            let generation = self.ensure_session().await?;
            let route = *self.archive_route.lock().unwrap_or_else(|e| e.into_inner());
            let url = format!(
                "{}{}?{file_query}",
                self.http.base(),
                paths::run_route(&pid, &rid, route)?
            );
            let resp = self
                .http
                .raw_client()
                .get(&url)
                .timeout(self.timeout.max(std::time::Duration::from_secs(3600)))
                .send()
                .await
                .map_err(|e| ApiError::Network(format!("archive download failed: {e}")))?;
            let status = resp.status().as_u16();
            if status == 200 {
                break resp;
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            let reply = Reply {
                status,
                content_type,
                body,
            };
            if super::is_route_miss(&reply) && !fell_back {
                fell_back = true;
                let mut r = self.archive_route.lock().unwrap_or_else(|e| e.into_inner());
                *r = if route == "archived" {
                    "archive"
                } else {
                    "archived"
                };
                tracing::info!(route = *r, "archive route miss; trying the other spelling");
                continue;
            }
            if (status == 401 || (status == 403 && self.was_visible(&pid)))
                && !replayed
                && self.revalidate(generation).await?
            {
                replayed = true;
                continue;
            }
            let words = server_words(&reply);
            return Err(match status {
                404 => ApiError::NotFound(format!(
                    "run {rid} has no archived file `{file}` (server: {words})"
                )),
                400 => ApiError::Rejected {
                    status,
                    message: format!("the dashboard refused the archive request (server: {words})"),
                },
                _ => map_error(&reply),
            });
        };
        self.mark_visible(&pid);
        let total = resp.content_length();
        let part = {
            let mut p = path.as_os_str().to_owned();
            p.push(".part");
            std::path::PathBuf::from(p)
        };
        let mut out = tokio::fs::File::create(&part)
            .await
            .map_err(|e| ApiError::Config(format!("cannot write {}: {e}", part.display())))?;
        let mut resp = resp;
        let mut done: u64 = 0;
        progress(0, total);
        let result: Result<(), ApiError> = async {
            loop {
                let chunk = tokio::time::timeout(self.timeout, resp.chunk())
                    .await
                    .map_err(|_| ApiError::Timeout(self.timeout.as_secs()))?
                    .map_err(|e| ApiError::Network(format!("the archive was cut off: {e}")))?;
                let Some(chunk) = chunk else { break };
                out.write_all(&chunk).await.map_err(|e| {
                    ApiError::Config(format!("cannot write {}: {e}", part.display()))
                })?;
                done += chunk.len() as u64;
                progress(done, total);
            }
            out.flush()
                .await
                .map_err(|e| ApiError::Config(format!("cannot write {}: {e}", part.display())))?;
            if let Some(t) = total
                && t != done
            {
                return Err(ApiError::Network(format!(
                    "the archive was cut off after {done} of {t} bytes"
                )));
            }
            Ok(())
        }
        .await;
        drop(out);
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        tokio::fs::rename(&part, path).await.map_err(|e| {
            ApiError::Config(format!(
                "cannot move the download to {}: {e}",
                path.display()
            ))
        })?;
        Ok(done)
    }
}
