"""The Space: app.py's options, the logic behind the page, the page, the one server, and publishing it.

- `app_config`: every option of app.py; `service`: both models loaded once, comparisons and the About facts,
  without the UI; `answer_cache`: answers kept for identical reviews.
- `views`: what the page shows (class bars, model lines, agreement, tables) as Markdown and HTML, no Gradio;
  `ui`: the Gradio page that lays them out; `server`: Gradio's server with the REST routes and /healthz.
- `operations`: every operation programs can call (predict, compare, robustness, feedback), declared once with its
  schemas (`schemas`), its REST route, its gr.api name and whether it is an MCP tool; server and ui generate the
  surfaces.
- `feedback`: visitors' corrections ("Was this right?") checked, rate-limited and appended safely to a local folder;
  `feedback_hub`: that folder pushed to a Hub dataset on a schedule (huggingface_hub's CommitScheduler);
  `addresses`: the address a visitor's limit counts, one no sender can forge (trusted proxies' X-Forwarded-For).
- `publish`: `python -m review_sentiment.space.publish`, the app's files and models as a Hugging Face Space.

Imports: the shared top modules, `data`, `inference` and `evaluation` (explanations); never training or bulk.
"""
