"""Fine-tune a transformer on movie reviews, evaluate it, write its model card, and push it to the Hub.

    python train.py --method full --dataset stanfordnlp/imdb --output-dir outputs/model
    python train.py --method lora --model bert-base-uncased --push-to-hub --hub-model-id you/imdb-bert-lora
    torchrun --nproc_per_node 4 train.py ...        # several GPUs, no code change

Every option: python train.py --help
"""

import sys

from review_sentiment.training.run import cli

if __name__ == "__main__":
    sys.exit(cli())
