from tools import check_held_out


def test_a_near_copy_is_found_and_a_rewording_is_not():
    training = ["我的订单到哪了", "帮我查一下物流", "小米14多少钱"]
    found = check_held_out.near_duplicates(["我的订单到哪了呢", "买的东西走到哪一步了"], training)
    assert [(text, twin) for _, text, twin in found] == [("我的订单到哪了呢", "我的订单到哪了")]
    assert found[0][0] >= check_held_out.THRESHOLD


def test_the_committed_held_out_set_has_no_near_copies(capsys):
    assert check_held_out.main([]) == 0, capsys.readouterr().out


def test_the_check_fails_on_a_copied_example(tmp_path, capsys):
    held_out = tmp_path / "held_out.yml"
    held_out.write_text(
        'version: "3.1"\nnlu:\n  - intent: check_order_status\n    examples: |\n      - 我的订单到哪了\n',
        encoding="utf-8",
    )
    assert check_held_out.main(["--held-out", str(held_out)]) == 1
    assert "我的订单到哪了" in capsys.readouterr().out
