"""F1 score, macro / weighted / per class (offline `evaluate` module).

``labels`` fixes the class set, so a class absent from a small batch still counts (as 0 F1)
and per-class scores come back in the caller's order.
"""

import datasets
import evaluate
from sklearn.metrics import f1_score


class F1(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="F1 = 2 * precision * recall / (precision + recall).",
            citation="",
            inputs_description="predictions, references: lists of class ids (int); average: "
            "'macro', 'weighted', 'micro' or None (per class); labels: the class ids.",
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references, labels=None, average="macro",
                 sample_weight=None):
        score = f1_score(references, predictions, labels=labels, average=average,
                         sample_weight=sample_weight, zero_division=0)
        return {"f1": score.tolist() if average is None else float(score)}
