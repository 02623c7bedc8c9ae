"""Confusion matrix: rows are references, columns predictions (offline `evaluate` module)."""

import datasets
import evaluate
from sklearn.metrics import confusion_matrix


class ConfusionMatrix(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Counts of (reference, prediction) pairs, rows = references.",
            citation="",
            inputs_description="predictions, references: lists of class ids (int); labels: "
            "the class ids, in the order of rows and columns.",
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references, labels=None, sample_weight=None):
        matrix = confusion_matrix(references, predictions, labels=labels,
                                  sample_weight=sample_weight)
        return {"confusion_matrix": matrix.tolist()}
