"""The loader, publishing and the app against Hub repos laid out like the real default models (tests/hub_layouts.py).

This fakes ONLY the Hub's HTTP API, on loopback (tests/fake_hub.py). huggingface_hub, transformers, our loader and
the app are real and run in subprocesses, because HF_ENDPOINT is read when huggingface_hub is imported.
"""

import json
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from conftest import ARTIFACTS, HAS_CHROMIUM, ROOT, LiveApp, open_app, subprocess_env
from fake_hub import USER, FakeHub
from hub_layouts import BOT, LVWERRA, NLPTOWN, PICKLED_ONLY, build

from review_sentiment.inference.predictor import Predictor

TEXTS = ["great wonderful film , i loved it", "awful boring plot , a waste", "the movie was okay"]
NEVER = (".bin", ".msgpack", ".h5", ".onnx", ".ckpt", ".pt")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with FakeHub() as server:
        server.facts = build(server, tmp_path_factory.mktemp("layouts"))
        yield server


LOAD = """
import json, sys
from review_sentiment.errors import UserError
from review_sentiment.inference.predictor import Predictor
try:
    p = Predictor.load(sys.argv[1], revision=sys.argv[2] or None, device="cpu")
except UserError as exc:
    print(json.dumps({"error": str(exc)}))
    raise SystemExit(0)
print(json.dumps({"probs": p.predict_proba(json.loads(sys.argv[3])).tolist(), "labels": p.labels,
                  "source": p.files.summary, "files": p.files.files}))
"""


def load(hub, tmp_path, repo, revision=""):
    """Predictor.load(repo) in a fresh process and cache; returns its answer and what it downloaded."""
    start = len(hub.downloads)
    env = subprocess_env(**hub.env(token=None), HF_HOME=str(tmp_path / "hf-home"))
    result = subprocess.run([sys.executable, "-c", LOAD, repo, revision, json.dumps(TEXTS)], capture_output=True,
                            text=True, env=env, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), hub.downloads[start:]


PRELOAD = """
import sys
from huggingface_hub import snapshot_download
for entry in sys.argv[1:]:
    repo, files, *revision = entry.split(" ")
    snapshot_download(repo, revision=revision[0] if revision else None, allow_patterns=files.split(","))
"""


def preload(hub, entries, home) -> None:
    """What a Spaces build does with `preload_from_hub`: each entry's files (at its revision, if it names one) into
    the cache, with the files the entry lists and no others."""
    done = subprocess.run([sys.executable, "-c", PRELOAD, *entries], capture_output=True, text=True,
                          env=subprocess_env(**hub.env(token=None), HF_HOME=str(home)), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def local_probs(folder) -> np.ndarray:
    return Predictor.load(str(folder), device="cpu").predict_proba(TEXTS)


def test_bin_only_main_loads_the_bots_conversion_pr_and_nothing_pickled(hub, tmp_path):
    facts = hub.facts[LVWERRA]
    answer, downloads = load(hub, tmp_path, LVWERRA)
    assert "error" not in answer, answer
    assert np.allclose(answer["probs"], local_probs(facts["local"]), atol=1e-6), "the PR's weights, not another's"
    assert answer["source"] == {"repo": LVWERRA, "revision": facts["pr"], "config_revision": facts["main"],
                                "origin": f"safetensors conversion PR #{facts['pr_num']}"}
    got = {(sha, name) for _, sha, name, _ in downloads}
    config = {"config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
              "vocab.txt"}
    assert got == {(facts["main"], n) for n in config} | {(facts["pr"], "model.safetensors")}
    assert not any(name.endswith(NEVER) for _, _, name, _ in downloads)
    print("\nlvwerra-like layout downloaded:", [(n, size) for _, _, n, size in downloads])


def test_four_weight_formats_download_only_safetensors_and_the_slow_tokenizer_files(hub, tmp_path):
    facts = hub.facts[NLPTOWN]
    answer, downloads = load(hub, tmp_path, NLPTOWN)
    assert answer["labels"] == ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
    assert np.allclose(answer["probs"], local_probs(facts["local"]), atol=1e-6)
    assert answer["source"]["origin"] == "main" and answer["source"]["revision"] == facts["main"]
    assert {name for _, _, name, _ in downloads} == {"config.json", "model.safetensors",
                                                    "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"}
    assert not any(name.endswith(NEVER) for _, _, name, _ in downloads)
    print("\nnlptown-like layout downloaded:", [(n, size) for _, _, n, size in downloads])


def test_pickled_only_repo_is_one_clear_line_and_downloads_nothing(hub, tmp_path):
    answer, downloads = load(hub, tmp_path, PICKLED_ONLY)
    assert "publishes only pickled weights" in answer["error"] and "pytorch_model.bin" in answer["error"]
    assert "safetensors/convert" in answer["error"] and "\n" not in answer["error"]
    assert downloads == []


def test_a_pinned_revision_is_used_as_is(hub, tmp_path):
    facts = hub.facts[LVWERRA]
    answer, downloads = load(hub, tmp_path, LVWERRA, facts["pr"])
    assert answer["source"]["revision"] == answer["source"]["config_revision"] == facts["pr"]
    assert {sha for _, sha, _, _ in downloads} == {facts["pr"]}
    assert np.allclose(answer["probs"], local_probs(facts["local"]), atol=1e-6)
    answer, downloads = load(hub, tmp_path, LVWERRA, facts["main"])  # main itself: pickled only, said so
    assert f"at revision {facts['main']}" in answer["error"] and downloads == []
    answer, _ = load(hub, tmp_path, LVWERRA, "no-such-branch")
    assert "no-such-branch" in answer["error"]


def test_evaluate_cli_takes_a_revision_and_refuses_pickled_repos_in_one_line(hub, tmp_path, binary_data):
    env = subprocess_env(**hub.env(token=None), HF_HOME=str(tmp_path / "h"))
    result = subprocess.run([sys.executable, "-m", "review_sentiment.evaluation.evaluate", "--model", PICKLED_ONLY,
                             "--dataset", str(binary_data), "--max-samples", "10"], capture_output=True, text=True,
                            env=env, timeout=300, cwd=ROOT)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "publishes only pickled weights" in result.stderr


def publish(hub, tmp_path, *extra):
    env = subprocess_env(**hub.env(), HF_HOME=str(tmp_path / "publisher"))
    return subprocess.run([sys.executable, "-m", "review_sentiment.space.publish", "--space-id", f"{USER}/demo",
                           "--model-id", LVWERRA, *extra], capture_output=True, text=True, env=env, timeout=300,
                          cwd=ROOT)


def test_publishing_writes_exact_pinned_preloads_and_the_app_answers_offline_from_them(hub, tmp_path, request,
                                                                                       binary_data):
    """Neither lvwerra's layout nor nlptown's ships ONNX files: publishing runs the int8 bar for both on local test
    reviews (the real command reads stanfordnlp/imdb; the star baseline on its stars and its polarity verdict) and
    ships the checked files with the Space; the app, started offline from the preloads and the Space's files, serves
    them for exactly those commits and shows their figures."""
    result = publish(hub, tmp_path, "--check-dataset", str(binary_data))
    assert result.returncode == 0, result.stderr[-3000:]
    space = hub.repo(f"{USER}/demo", "space")
    from huggingface_hub import SpaceCard

    from review_sentiment.export.checked_onnx import BF16_KEY
    from review_sentiment.space.publish import CHECKS_HEADING, app_files
    lv, nl = hub.facts[LVWERRA], hub.facts[NLPTOWN]
    checked = f"checked-onnx/{LVWERRA.replace('/', '--')}/{lv['pr']}"
    checked_baseline = f"checked-onnx/{NLPTOWN.replace('/', '--')}/{nl['main']}"
    # Two layers, both kept fp32 by ONNX Runtime's quantiser (first and last): its int8 agrees on every review and
    # ships. OpenVINO's static int8 quantises every layer: it ships only if it met the bar too.
    assert f"{LVWERRA}, onnx: int8 meets the bar on 60 test reviews" in result.stdout and "the Space ships it" in \
        result.stdout
    assert f"{NLPTOWN}, onnx: int8 meets the bar on 60 test reviews: stars agree on 100.00%, the polarity verdict " \
           "on 100.00%" in result.stdout and "reviews checked: English 60" in result.stdout
    assert "openvino: int8 " in result.stdout and "calibrated on 240 training reviews" in result.stdout
    figures = json.loads(space.files[f"{checked}/int8_check.json"])
    # Neither repo ships a metrics.json with an audit: publishing audits both, each at its served commit.
    audits = {f"{checked}/audit.json", f"{checked_baseline}/audit.json"}
    baseline_figures = json.loads(space.files[f"{checked_baseline}/int8_check.json"])
    shipped = {f"{folder}/{name}" for folder, found in ((checked, figures), (checked_baseline, baseline_figures))
               for name in [*found, *(n.replace(".xml", ".bin") for n in found if n.endswith(".xml"))]
               if name != BF16_KEY}  # the fp32 graph's bf16 check ships no file of its own
    assert f"{checked_baseline}/onnx/model_quantized.onnx" in shipped
    assert set(space.files) == {str(p) for p in app_files()} | {f"{checked}/onnx/model_quantized.onnx",
                                                                 f"{checked}/int8_check.json",
                                                                 f"{checked_baseline}/int8_check.json"} | audits | \
        shipped
    assert all(json.loads(space.files[name])["tests"] for name in audits) and "audited (" in result.stdout
    assert {f"review_sentiment/{p.relative_to(ROOT / 'review_sentiment')}" for p in
            (ROOT / "review_sentiment").rglob("*.py")} <= set(space.files), "every module of the package, runtimes/ too"
    assert len(space.commits) == 1
    figures = figures["onnx/model_quantized.onnx"]
    assert figures["passed"] and figures["revision"] == lv["pr"] and figures["dataset"] == str(binary_data)
    space_dir = tmp_path / "space-files"
    for name, data in space.files.items():
        if name.startswith("checked-onnx/"):
            (space_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (space_dir / name).write_bytes(data)
    card = SpaceCard(space.files["README.md"].decode())
    assert card.data.models == [LVWERRA, NLPTOWN]
    checks = card.text.split(CHECKS_HEADING)[1]  # the card says which language the baseline's check covered
    assert f"`{NLPTOWN}` (onnx): int8 meets the bar on 60 test reviews: stars agree" in checks
    lines = [line for line in checks.splitlines() if line.startswith("- ")]
    assert len([line for line in lines if "bf16)" not in line]) == 4, "both models, both runtimes (and bf16 where "\
                                                                       "this CPU computes it)"
    assert all("reviews checked: English 60" in line for line in lines)
    assert card.data.preload_from_hub == [
        f"{LVWERRA} config.json,model.safetensors,special_tokens_map.json,tokenizer.json,"
        f"tokenizer_config.json,vocab.txt {lv['pr']}",
        f"{NLPTOWN} config.json,model.safetensors,special_tokens_map.json,tokenizer_config.json,"
        f"vocab.txt {nl['main']}"]
    assert {k: v["value"] for k, v in space.variables.items()} == {
        "MODEL_ID": LVWERRA, "MODEL_REVISION": lv["pr"], "BASELINE_ID": NLPTOWN, "BASELINE_REVISION": nl["main"]}

    home = tmp_path / "space-home"
    preload(hub, card.data.preload_from_hub, home)
    before = len(hub.downloads)
    started = time.perf_counter()
    app = LiveApp(LVWERRA, NLPTOWN, extra_env={"HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "RUNTIME": "onnx",
                                               "MODEL_REVISION": lv["pr"], "BASELINE_REVISION": nl["main"],
                                               "CHECKED_ONNX_DIR": str(space_dir / "checked-onnx")})
    try:
        app.wait()
        answer = httpx.post(f"{app.url}/api/v1/predict", json={"texts": TEXTS}, timeout=60).json()
        first_answer_s = time.perf_counter() - started
        expected = local_probs(lv["local"])
        # The checked int8 file serves: within what the bar allows of fp32 (the tiny model's answers sit near 0.5).
        assert [p["probabilities"]["POSITIVE"] for p in answer["predictions"]] == pytest.approx(expected[:, 1],
                                                                                               abs=0.01)
        health = httpx.get(f"{app.url}/healthz").json()["models"]
        assert health["finetuned"]["loaded"] and health["baseline"]["loaded"]
        assert health["finetuned"]["revision"] == lv["pr"] and health["baseline"]["revision"] == nl["main"]
        assert health["finetuned"]["runtime"] == "ONNX Runtime, int8 (onnx/model_quantized.onnx)"
        assert health["finetuned"]["int8_check"] == figures, "the figures publishing measured"
        assert health["baseline"]["runtime"] == "ONNX Runtime, int8 (onnx/model_quantized.onnx)"
        assert health["baseline"]["int8_check"] == baseline_figures["onnx/model_quantized.onnx"]
        assert len(hub.downloads) == before, "offline: nothing fetched at start"
        print(f"\ncold start to first answer (tiny models, offline cache): {first_answer_s:.1f} s")
        if HAS_CHROMIUM:  # the About tab names the repo, the pinned commit and that the model was trained elsewhere
            page = request.getfixturevalue("page")
            open_app(page, app.url)
            page.get_by_role("tab", name="About").click()
            page.get_by_text("Trained elsewhere").wait_for()
            about = page.locator("body").inner_text()
            assert f"Weights from {LVWERRA} at {lv['pr'][:10]}" in about
            assert f"Weights from {NLPTOWN} at {nl['main'][:10]}" in about
            assert "int8 checked when the Space was published: int8 meets the bar on 60 test reviews" in about
            assert "stars agree on 100.00%" in about and "reviews checked: English 60" in about, "the baseline's"
            assert about.count("audit (measured when the Space was published)") == 2, "both models' audits"
            page.screenshot(path=str(ARTIFACTS / "about-hub-models.png"), full_page=True)
    finally:
        app.stop()


def test_publishing_a_pickled_only_model_stops_before_uploading(hub, tmp_path):
    env = subprocess_env(**hub.env(), HF_HOME=str(tmp_path / "h"))
    result = subprocess.run([sys.executable, "-m", "review_sentiment.space.publish", "--space-id", f"{USER}/other",
                             "--model-id", PICKLED_ONLY], capture_output=True, text=True, env=env, timeout=300,
                            cwd=ROOT)
    assert result.returncode == 2 and "publishes only pickled weights" in result.stderr
    assert ("space", f"{USER}/other") not in hub.repos


SERVE = """
import json, sys
from review_sentiment.inference.predictor import Predictor
from review_sentiment.inference.runtime_choice import choose
p = choose(Predictor.load(sys.argv[1], device="cpu"))
print(json.dumps({"runtime": p.runtime.name, "precision": p.runtime.precision,
                  "file": f"{p.runtime.file.parent.name}/{p.runtime.file.name}", "timed": list(p.choice["probe_ms"]),
                  "probs": p.predict_proba(json.loads(sys.argv[2])).tolist()}))
"""


def test_a_model_pushed_by_train_py_is_served_from_its_shipped_files_alone(hub, tmp_path, trained_model):
    """A repo laid out as train.py pushes it (weights, card, metrics, onnx/, openvino/): the Space downloads the files
    it serves (each int8 file that shipped, ONNX Runtime's and OpenVINO's with its weights; fp32 only where none
    did), times them and serves the fastest, without exporting anything."""
    from fake_hub import Repo

    from review_sentiment.inference.model_files import served_files
    repo_id = f"{USER}/imdb-distilbert"
    repo = hub.repos[("model", repo_id)] = Repo("model", repo_id)
    uploaded = {path.relative_to(trained_model).as_posix(): path.read_bytes() for path in trained_model.rglob("*")
                if path.is_file() and not {"checkpoints", "runs"} & set(path.relative_to(trained_model).parts)}
    sha = repo.commit_main("Upload full fine-tuned model", uploaded)
    expected = set(served_files(uploaded))
    assert expected == {n for n in uploaded if "quantized" in n} or not any("quantized" in n for n in uploaded)
    start = len(hub.downloads)
    env = subprocess_env(**hub.env(token=None), HF_HOME=str(tmp_path / "hf-home"))
    result = subprocess.run([sys.executable, "-c", SERVE, repo_id, json.dumps(TEXTS)], capture_output=True,
                            text=True, env=env, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    names = {name for _, commit, name, _ in hub.downloads[start:] if commit == sha}
    assert {n for n in names if n.startswith(("onnx/", "openvino/"))} == expected
    assert answer["file"] in expected and len(answer["timed"]) >= 2
    if "onnx/model_quantized.onnx" in expected and "openvino/openvino_model_qint8_quantized.xml" in expected:
        assert answer["precision"] == "int8" and "onnx/model.onnx" not in names, "no fp32 file for nothing"
    assert not (tmp_path / "hf-home" / "review-sentiment").exists(), "nothing exported"
    local = Predictor.load(str(trained_model), device="cpu").on(answer["runtime"], answer["precision"],
                                                                trained_model / answer["file"])
    assert np.allclose(answer["probs"], local.predict_proba(TEXTS), atol=1e-6)


def test_the_bot_is_the_only_author_trusted(hub):
    """The layout really holds a same-titled PR by someone else and a stale bot PR (so the tests above mean it)."""
    repo = hub.repo(LVWERRA)
    authors = [(d["author"]["name"], d["status"], d["isPullRequest"]) for d in repo.discussions]
    assert ("someone-else", "open", True) in authors and authors.count((BOT, "open", True)) == 2


def test_readme_front_matter_preloads_the_files_the_loader_reads_from_those_layouts(hub):
    """README's default preloads name exactly what the loader reads: all of nlptown from main; lvwerra's config and
    tokenizer from main and its weights from the conversion PR's ref (refs/pr/5, as on the real repo; pinning a
    commit needs the Hub: `review_sentiment.space.publish` does it)."""
    from huggingface_hub import SpaceCard
    card = SpaceCard.load(ROOT / "README.md")
    entries = {}
    for entry in card.data.preload_from_hub:
        repo, files, *revision = entry.split(" ")
        entries.setdefault(repo, {})[revision[0] if revision else "main"] = files.split(",")
    code = ("import json, sys\nfrom review_sentiment.inference.model_files import plan\n"
            "p = plan(sys.argv[1])\nprint(json.dumps({'files': p.files, 'config': p.config_sha, "
            "'weights': p.weights_sha}))")
    for repo in (LVWERRA, NLPTOWN):
        result = subprocess.run([sys.executable, "-c", code, repo], capture_output=True, text=True, timeout=120,
                                env=subprocess_env(**hub.env(token=None)), cwd=ROOT)
        assert result.returncode == 0, result.stderr[-2000:]
        found = json.loads(result.stdout)
        if found["weights"] == found["config"]:
            assert entries[repo] == {"main": sorted(found["files"][found["config"]])}, repo
        else:
            pr = f"refs/pr/{hub.facts[repo]['pr_num']}"
            assert hub.repo(repo).refs[pr] == found["weights"]
            assert entries[repo] == {"main": sorted(found["files"][found["config"]]),
                                     pr: sorted(found["files"][found["weights"]])}, repo


def test_a_space_built_from_readme_starts_offline_from_exactly_its_preloads(hub, tmp_path):
    """The Space as README's front matter builds it: the listed files preloaded into an empty cache, then
    `python app.py` with HF_HUB_OFFLINE=1 and no revision pinned. It fetches nothing and serves lvwerra's conversion-PR
    weights with main's config and tokenizer, exactly as it would online."""
    from huggingface_hub import SpaceCard
    home = tmp_path / "space-home"
    preload(hub, SpaceCard.load(ROOT / "README.md").data.preload_from_hub, home)
    before = len(hub.downloads)
    app = LiveApp(LVWERRA, NLPTOWN, extra_env={"HF_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    try:
        app.wait()
        answer = httpx.post(f"{app.url}/api/v1/predict", json={"texts": TEXTS}, timeout=60).json()
        assert [p["probabilities"]["POSITIVE"] for p in answer["predictions"]] == pytest.approx(
            local_probs(hub.facts[LVWERRA]["local"])[:, 1], abs=1e-5)
        health = httpx.get(f"{app.url}/healthz").json()["models"]
        lv, nl = hub.facts[LVWERRA], hub.facts[NLPTOWN]
        assert health["finetuned"]["revision"] == lv["pr"] and health["finetuned"]["config_revision"] == lv["main"]
        assert "conversion PR #5" in health["finetuned"]["origin"] and health["baseline"]["revision"] == nl["main"]
        assert len(hub.downloads) == before, "offline: nothing fetched at start"
    finally:
        app.stop()
