"""A loopback HTTP server speaking the part of the Hugging Face Hub API that pushing and pulling use.

This fakes ONLY the Hub's HTTP boundary (the Hub cannot be reached from CI). Everything on our side of it is the
real thing: huggingface_hub's HfApi/ModelCard/snapshot_download, transformers' from_pretrained, and our code.
Point a process at it with HF_ENDPOINT=<url> (and HF_HUB_DISABLE_XET=1, since no Xet server exists here); both
are read when huggingface_hub is imported, so the pushing and pulling run in subprocesses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

TOKEN = "hf_fake_token_for_tests_only"
USER = "tester"
LFS_SUFFIXES = (".safetensors", ".bin", ".png", ".parquet")


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    """A repo with main's history, every commit's tree, and pull requests (refs/pr/N) as the Hub keeps them."""

    repo_type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # main's tree
    lfs: set[str] = field(default_factory=set)
    commits: list[dict] = field(default_factory=list)  # main's history, oldest first
    variables: dict[str, dict] = field(default_factory=dict)
    trees: dict[str, tuple[dict, set]] = field(default_factory=dict)  # commit sha -> (files, lfs paths)
    history: dict[str, list[dict]] = field(default_factory=dict)  # commit sha -> its commits, newest first
    refs: dict[str, str] = field(default_factory=dict)  # "refs/pr/5" -> commit sha
    discussions: list[dict] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return self.commits[-1]["oid"] if self.commits else "0" * 40

    def commit(self, summary: str, files: dict[str, bytes], *, author: str = USER, deleted=(),
               parent: str | None = None) -> str:
        """A commit on main (parent None) or on top of `parent` (a PR's branch); returns its sha."""
        base_files, base_lfs = (dict(self.files), set(self.lfs)) if parent is None else \
            (dict(self.trees[parent][0]), set(self.trees[parent][1]))
        parent = self.sha if parent is None else parent
        for path in deleted:
            base_files.pop(path, None)
            base_lfs.discard(path)
        for path, data in files.items():
            base_files[path] = data
            (base_lfs.add if path.endswith(LFS_SUFFIXES) or len(data) > 10e6 else base_lfs.discard)(path)
        oid = hashlib.sha1(json.dumps([self.repo_id, summary, parent, sorted(base_files), len(self.trees)])
                           .encode()).hexdigest()
        record = {"oid": oid, "summary": summary, "paths": sorted([*files, *deleted]), "author": author,
                  "date": f"2026-11-{1 + len(self.trees) % 27:02d}T12:00:00.000Z"}
        self.trees[oid] = (base_files, base_lfs)
        self.history[oid] = [record, *self.history.get(parent, [])]
        return oid

    def commit_main(self, summary: str, files: dict[str, bytes], *, deleted=()) -> str:
        oid = self.commit(summary, files, deleted=deleted)
        self.files, self.lfs = dict(self.trees[oid][0]), set(self.trees[oid][1])
        self.commits.append(self.history[oid][0])
        return oid

    def open_pr(self, author: str, title: str, files: dict[str, bytes], *, parent: str | None = None,
                status: str = "open") -> tuple[int, str]:
        """A pull request branching off `parent` (default: main's head) that adds `files`; returns (num, sha)."""
        num = len(self.discussions) + 1
        oid = self.commit(title, files, author=author, parent=parent or self.sha)
        self.refs[f"refs/pr/{num}"] = oid
        self.discussions.append({"num": num, "title": title, "author": {"name": author}, "status": status,
                                 "isPullRequest": True, "createdAt": "2026-11-20T12:00:00.000Z",
                                 "repo": {"name": self.repo_id, "type": self.repo_type}, "pinned": False,
                                 "numComments": 1, "topReactions": []})
        return num, oid

    def at(self, revision: str | None) -> tuple[str, dict, set] | None:
        """(sha, files, lfs paths) of a revision: main, a ref such as refs/pr/5, or a commit sha."""
        if revision in (None, "main"):
            return self.sha, self.files, self.lfs
        sha = self.refs.get(revision, revision)
        if sha in self.trees:
            return sha, *self.trees[sha]
        return None

    def entry(self, path: str, revision: str | None = None) -> dict:
        _, files, lfs = self.at(revision)
        data = files[path]
        entry = {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha(data)}
        if path in lfs:
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
        return entry


class FakeHub:
    """State + server. `hub.repos[(type, id)]` and `hub.requests` are there for tests to inspect."""

    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.downloads: list[tuple[str, str, str, int]] = []  # (repo, commit sha, file, bytes) of every GET
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def env(self, token: str | None = TOKEN) -> dict:
        env = {"HF_ENDPOINT": self.url, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "5"}
        if token:
            env["HF_TOKEN"] = token
        return env

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def _handler(hub):  # noqa: N805 - the closure gives the handler its FakeHub
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            # -- plumbing ----------------------------------------------------------------------------------
            def body(self) -> bytes:
                return self._body

            def send(self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None,
                     head: bool = False):
                data = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            def authorized(self) -> bool:
                return self.headers.get("Authorization") == f"Bearer {TOKEN}"

            def error(self, status: int, message: str, head: bool = False):
                self.send(status, {"error": message}, {"X-Error-Message": message}, head=head)

            # -- routing -----------------------------------------------------------------------------------
            def do_GET(self):
                self.route("GET")

            def do_HEAD(self):
                self.route("HEAD")

            def do_POST(self):
                self.route("POST")

            def do_PUT(self):
                self.route("PUT")

            def route(self, method: str):
                raw = urlparse(self.path)
                path = unquote(raw.path)
                self.raw_path, self.query = raw.path, parse_qs(raw.query)
                hub.requests.append((method, path))
                # Read every body, used or not: an unread body would corrupt the next request on this connection.
                length = int(self.headers.get("Content-Length") or 0)
                self._body = self.rfile.read(length) if length else b""
                try:
                    self.dispatch(method, path)
                except Exception as exc:  # noqa: BLE001 - a test server answers 500 rather than hanging up
                    self.error(500, f"fake hub: {type(exc).__name__}: {exc}")

            def dispatch(self, method: str, path: str):
                if path == "/api/whoami-v2":
                    if not self.authorized():
                        return self.error(401, "Invalid credentials in Authorization header")
                    return self.send(200, {"type": "user", "name": USER, "orgs": [{"name": "tester-org"}],
                                           "auth": {"type": "access_token",
                                                    "accessToken": {"displayName": "tests", "role": "write"}}})
                if path == "/api/repos/create" and method == "POST":
                    return self.create_repo()
                if path == "/api/validate-yaml" and method == "POST":
                    return self.send(200, {"errors": [], "warnings": []})
                if m := re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+?)(?:/(revision|tree|paths-info|"
                                     r"preupload|commit|commits)/([^/]+)(/.*)?|/(variables|discussions))?",
                                     self.raw_path):
                    kind, repo_id, action, rev, _rest, extra = m.groups()
                    repo = hub.repos.get((kind[:-1], unquote(repo_id)))
                    if repo is None:
                        return self.send(404, {"error": "Repository not found"},
                                         {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
                    if extra == "variables":
                        return self.variables(repo, method)
                    if extra == "discussions":
                        return self.api_discussions(repo)
                    self.revision = unquote(rev) if rev else None
                    if action in (None, "revision", "tree", "commits") and repo.at(self.revision) is None:
                        return self.send(404, {"error": "Invalid rev id"},
                                         {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"})
                    return getattr(self, f"api_{(action or 'info').replace('-', '_')}")(repo)
                if m := re.fullmatch(r"/(?:(datasets|spaces)/)?(.+?)\.git/info/lfs/objects/batch", path):
                    return self.lfs_batch()
                if m := re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", path):
                    hub.lfs_objects[m.group(1)] = self.body()
                    return self.send(200, {})
                if m := re.fullmatch(r"/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", self.raw_path):
                    kind, repo_id, rev, file_path = m.groups()
                    return self.resolve((kind or "models")[:-1], unquote(repo_id), unquote(file_path),
                                        head=method == "HEAD", revision=unquote(rev))
                return self.error(404, f"fake hub: no route for {method} {path}", head=method == "HEAD")

            # -- repos ---------------------------------------------------------------------------------------
            def create_repo(self):
                if not self.authorized():
                    return self.error(401, "Invalid credentials")
                payload = json.loads(self.body())
                repo_type = payload.get("type") or "model"
                repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
                with hub.lock:
                    if (repo_type, repo_id) in hub.repos:
                        return self.send(409, {"error": "You already created this repo", "url": f"{hub.url}/{repo_id}"})
                    hub.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id,
                                                           private=payload.get("visibility") == "private",
                                                           sdk=payload.get("sdk"))
                prefix = "" if repo_type == "model" else f"{repo_type}s/"
                return self.send(200, {"url": f"{hub.url}/{prefix}{repo_id}", "name": repo_id})

            def api_info(self, repo: Repo):
                sha, files, _ = repo.at(self.revision)
                info = {"id": repo.repo_id, "modelId": repo.repo_id, "sha": sha, "private": repo.private,
                        "siblings": [{"rfilename": p} for p in sorted(files)], "tags": [], "downloads": 0,
                        "likes": 0, "lastModified": "2026-11-22T00:00:00.000Z"}
                if repo.sdk:
                    info["sdk"] = repo.sdk
                return self.send(200, info)

            api_revision = api_info

            def api_tree(self, repo: Repo):
                _, files, _ = repo.at(self.revision)
                return self.send(200, [repo.entry(p, self.revision) for p in sorted(files)])

            def api_commits(self, repo: Repo):
                sha = repo.at(self.revision)[0]
                return self.send(200, [{"id": c["oid"], "title": c["summary"], "message": "", "date": c["date"],
                                        "authors": [{"user": c["author"]}]} for c in repo.history.get(sha, [])])

            def api_discussions(self, repo: Repo):
                """Filtered by type, status and author, as the Hub filters them."""
                q = {k: v[0] for k, v in self.query.items()}
                found = [d for d in repo.discussions
                         if (q.get("type") in (None, "all") or d["isPullRequest"] == (q["type"] == "pull_request"))
                         and q.get("status") in (None, "all", d["status"])
                         and q.get("author") in (None, d["author"]["name"])]
                found.sort(key=lambda d: -d["num"])
                return self.send(200, {"discussions": found, "count": len(found), "start": 0,
                                       "numClosedDiscussions": 0})

            def api_paths_info(self, repo: Repo):
                raw = self.body().decode()
                try:
                    paths = json.loads(raw)["paths"]
                except ValueError:  # form-encoded: paths=a&paths=b
                    paths = parse_qs(raw).get("paths", [])
                _, files, _ = repo.at(self.revision)
                return self.send(200, [repo.entry(p, self.revision) for p in paths if p in files])

            def api_preupload(self, repo: Repo):
                files = json.loads(self.body())["files"]
                return self.send(200, {"files": [
                    {"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) or f["size"] > 10e6
                     else "regular", "shouldIgnore": False, "oid": None} for f in files]})

            def lfs_batch(self):
                if not self.authorized():
                    return self.error(401, "Invalid credentials")
                payload = json.loads(self.body())
                objects = [{"oid": o["oid"], "size": o["size"], "authenticated": True,
                            "actions": {"upload": {"href": f"{hub.url}/lfs-upload/{o['oid']}"}}}
                           for o in payload["objects"]]
                return self.send(200, {"transfer": "basic", "objects": objects})

            def api_commit(self, repo: Repo):
                if not self.authorized():
                    return self.error(401, "Invalid credentials")
                lines = [json.loads(line) for line in self.body().splitlines() if line.strip()]
                header = next(x["value"] for x in lines if x["key"] == "header")
                added, deleted = {}, []
                for item in lines:
                    value = item["value"]
                    if item["key"] == "file":
                        added[value["path"]] = base64.b64decode(value["content"])
                    elif item["key"] == "lfsFile":
                        if value["oid"] not in hub.lfs_objects:
                            return self.error(422, f"LFS object {value['oid']} was never uploaded")
                        added[value["path"]] = hub.lfs_objects[value["oid"]]
                    elif item["key"] == "deletedFile":
                        deleted.append(value["path"])
                with hub.lock:
                    oid = repo.commit_main(header.get("summary"), added, deleted=deleted)
                prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
                return self.send(200, {"commitUrl": f"{hub.url}/{prefix}{repo.repo_id}/commit/{oid}",
                                       "commitOid": oid, "pullRequestUrl": None})

            def variables(self, repo: Repo, method: str):
                if method == "POST":
                    if not self.authorized():
                        return self.error(401, "Invalid credentials")
                    payload = json.loads(self.body())
                    repo.variables[payload["key"]] = {"value": payload["value"],
                                                      "description": payload.get("description")}
                return self.send(200, repo.variables)

            def resolve(self, repo_type: str, repo_id: str, file_path: str, head: bool, revision: str):
                repo = hub.repos.get((repo_type, repo_id))
                if repo is None:
                    return self.send(404, {"error": "Repository not found"},
                                     {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
                                     head=head)
                if repo.at(revision) is None:
                    return self.send(404, {"error": "Invalid rev id"},
                                     {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"},
                                     head=head)
                sha, files, lfs = repo.at(revision)
                if file_path not in files:
                    return self.send(404, {"error": "Entry not found"},
                                     {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found",
                                      "X-Repo-Commit": sha}, head=head)
                data = files[file_path]
                if not head:
                    hub.downloads.append((repo_id, sha, file_path, len(data)))
                etag = hashlib.sha256(data).hexdigest() if file_path in lfs else git_blob_sha(data)
                headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"'}
                if file_path in lfs:
                    headers |= {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))}
                return self.send(200, raw=data, headers=headers, head=head)

        return Handler
