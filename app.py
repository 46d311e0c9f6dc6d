"""The Hugging Face Space: the fine-tuned model next to the nlptown 1-5 star baseline.

    MODEL_ID=outputs/model BASELINE_ID=/path/to/nlptown python app.py    # then open http://localhost:7860

    python app.py --share                                                 # a public link, e.g. from a notebook
    python app.py --mcp                                                   # also an MCP server for agents


MODEL_ID / BASELINE_ID (or --model / --baseline) take a Hub id or a local directory, MODEL_REVISION /
BASELINE_REVISION pin a Hub revision; GRADIO_SERVER_NAME and GRADIO_SERVER_PORT choose where to listen (0.0.0.0:7860,
as Spaces expect). On a Space, the variable GRADIO_MCP_SERVER=true does what --mcp does.
"""

import argparse

from review_sentiment.server import serve

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="fine-tuned model: Hub id or local directory (default: $MODEL_ID, else "
                                        "outputs/model if trained, else the public IMDb DistilBERT)")
    parser.add_argument("--baseline", help="baseline: Hub id or local directory (default: $BASELINE_ID, else "
                                           "nlptown/bert-base-multilingual-uncased-sentiment)")
    parser.add_argument("--model-revision", help="Hub revision (branch, tag or commit sha) of --model (default: "
                                                 "$MODEL_REVISION, else main or its safetensors conversion PR)")
    parser.add_argument("--baseline-revision", help="Hub revision of --baseline (default: $BASELINE_REVISION, "
                                                    "else main or its safetensors conversion PR)")
    parser.add_argument("--share", action="store_true", help="also serve on a temporary public gradio.live link")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the predict and compare tools over MCP at /gradio_api/mcp/ (default: "
                             "$GRADIO_MCP_SERVER)")
    parser.add_argument("--long-text", choices=["head", "head+tail", "chunks"],
                        help="how the fine-tuned model reads reviews longer than its window (default: $LONG_TEXT, "
                             "else the measured best)")
    parser.add_argument("--quantize", choices=["none", "int8"],
                        help="int8 dynamic quantisation of the fine-tuned model on CPU (default: $QUANTIZE, else "
                             "the measured best)")
    parser.add_argument("--runtime", choices=["torch", "onnx"],
                        help="run the models on torch or ONNX Runtime (default: $RUNTIME, else onnx on CPU when "
                             "onnxruntime is installed)")
    args = parser.parse_args()
    serve(args.model, args.baseline, share=args.share, mcp=args.mcp or None, long_text=args.long_text, quantize=args.quantize,
          runtime=args.runtime, model_revision=args.model_revision, baseline_revision=args.baseline_revision)
