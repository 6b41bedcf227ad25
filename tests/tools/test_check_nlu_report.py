import json

import pytest

from tools import check_nlu_report


def write_reports(folder, accuracy, entity_f1):
    (folder / "intent_report.json").write_text(
        json.dumps(
            {
                "accuracy": accuracy,
                "greet": {"precision": 1, "recall": 1, "f1-score": 1.0, "support": 10},
                "ask_price": {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 10},
            }
        )
    )
    (folder / "DIETClassifier_report.json").write_text(
        json.dumps(
            {
                "product": {"precision": 1, "recall": 1, "f1-score": entity_f1, "support": 5},
                "micro avg": {"precision": 1, "recall": 1, "f1-score": entity_f1, "support": 5},
            }
        )
    )


@pytest.mark.parametrize("accuracy, f1, code", [(0.96, 0.97, 0), (0.94, 0.97, 1), (0.96, 0.90, 1)])
def test_floor(tmp_path, capsys, accuracy, f1, code):
    write_reports(tmp_path, accuracy, f1)
    assert check_nlu_report.main([str(tmp_path)]) == code
    if accuracy < 0.95:
        assert "ask_price: f1=0.500" in capsys.readouterr().out
