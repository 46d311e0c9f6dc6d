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
from urllib.parse import unquote, urlparse

TOKEN = "hf_fake_token_for_tests_only"
USER = "tester"
LFS_SUFFIXES = (".safetensors", ".bin", ".png", ".parquet")


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    lfs: set[str] = field(default_factory=set)
    commits: list[dict] = field(default_factory=list)
    variables: dict[str, dict] = field(default_factory=dict)

    @property
    def sha(self) -> str:
        return self.commits[-1]["oid"] if self.commits else "0" * 40

    def entry(self, path: str) -> dict:
        data = self.files[path]
        entry = {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha(data)}
        if path in self.lfs:
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
        return entry


class FakeHub:
    """State + server. `hub.repos[(type, id)]` and `hub.requests` are there for tests to inspect."""

    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
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
                path = unquote(urlparse(self.path).path)
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
                if m := re.fullmatch(r"/api/(models|datasets|spaces)/(.+?)(?:/(revision|tree|paths-info|preupload|"
                                     r"commit)/([^/]+)(/.*)?|/(variables))?", path):
                    kind, repo_id, action, _rev, _rest, variables = m.groups()
                    repo = hub.repos.get((kind[:-1], repo_id))
                    if repo is None:
                        return self.send(404, {"error": "Repository not found"},
                                         {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
                    if variables:
                        return self.variables(repo, method)
                    return getattr(self, f"api_{(action or 'info').replace('-', '_')}")(repo)
                if m := re.fullmatch(r"/(?:(datasets|spaces)/)?(.+?)\.git/info/lfs/objects/batch", path):
                    return self.lfs_batch()
                if m := re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", path):
                    hub.lfs_objects[m.group(1)] = self.body()
                    return self.send(200, {})
                if m := re.fullmatch(r"/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
                    kind, repo_id, _rev, file_path = m.groups()
                    return self.resolve((kind or "models")[:-1], repo_id, file_path, head=method == "HEAD")
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
                info = {"id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.sha, "private": repo.private,
                        "siblings": [{"rfilename": p} for p in sorted(repo.files)], "tags": [], "downloads": 0,
                        "likes": 0, "lastModified": "2026-11-22T00:00:00.000Z"}
                if repo.sdk:
                    info["sdk"] = repo.sdk
                return self.send(200, info)

            api_revision = api_info

            def api_tree(self, repo: Repo):
                return self.send(200, [repo.entry(p) for p in sorted(repo.files)])

            def api_paths_info(self, repo: Repo):
                raw = self.body().decode()
                try:
                    paths = json.loads(raw)["paths"]
                except ValueError:  # form-encoded: paths=a&paths=b
                    from urllib.parse import parse_qs
                    paths = parse_qs(raw).get("paths", [])
                return self.send(200, [repo.entry(p) for p in paths if p in repo.files])

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
                with hub.lock:
                    for item in lines:
                        value = item["value"]
                        if item["key"] == "file":
                            repo.files[value["path"]] = base64.b64decode(value["content"])
                            repo.lfs.discard(value["path"])
                        elif item["key"] == "lfsFile":
                            if value["oid"] not in hub.lfs_objects:
                                return self.error(422, f"LFS object {value['oid']} was never uploaded")
                            repo.files[value["path"]] = hub.lfs_objects[value["oid"]]
                            repo.lfs.add(value["path"])
                        elif item["key"] == "deletedFile":
                            repo.files.pop(value["path"], None)
                    oid = hashlib.sha1(json.dumps([header, len(repo.commits)]).encode()).hexdigest()
                    repo.commits.append({"oid": oid, "summary": header.get("summary"),
                                         "paths": sorted(v["value"]["path"] for v in lines if v["key"] != "header")})
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

            def resolve(self, repo_type: str, repo_id: str, file_path: str, head: bool):
                repo = hub.repos.get((repo_type, repo_id))
                if repo is None:
                    return self.send(404, {"error": "Repository not found"},
                                     {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
                                     head=head)
                if file_path not in repo.files:
                    return self.send(404, {"error": "Entry not found"},
                                     {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found",
                                      "X-Repo-Commit": repo.sha}, head=head)
                data = repo.files[file_path]
                etag = hashlib.sha256(data).hexdigest() if file_path in repo.lfs else git_blob_sha(data)
                headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{etag}"'}
                if file_path in repo.lfs:
                    headers |= {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))}
                return self.send(200, raw=data, headers=headers, head=head)

        return Handler
