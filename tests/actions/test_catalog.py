import pytest

from actions.catalog import ActionAnswerProduct, aspect_of_conversation
from tests.helpers import entity, run_action, slot_events, texts, user_event


@pytest.mark.parametrize(
    "intent, expected",
    [
        ("ask_price", "华为Mate60（华为）售价 5999 元，目前有货（库存 120 件）。"),
        ("ask_stock", "华为Mate60 目前有货，库存 120 件，付款后 48 小时内发货。"),
    ],
)
def test_answers_price_and_stock_from_database(database, dispatcher, make_tracker, domain, intent, expected):
    tracker = make_tracker("mate60多少钱", intent, [entity("product", "mate60")])
    events = run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    assert texts(dispatcher) == [expected]
    assert slot_events(events) == {"product": "华为Mate60"}


def test_product_info_lists_specs_warranty_and_stock(database, dispatcher, make_tracker, domain):
    tracker = make_tracker("戴森V12怎么样", "ask_product_info", [entity("product", "戴森V12")])
    run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    [answer] = texts(dispatcher)
    assert "无线吸尘器" in answer and "4490 元" in answer and "整机保修2年" in answer and "有货" in answer


def test_price_change_in_database_is_answered(database, session, dispatcher, make_tracker, domain):
    from zhiyin.services.catalog import find_product

    find_product(session, "小米14").price_fen = 359900
    session.commit()
    run_action(
        ActionAnswerProduct(),
        dispatcher,
        make_tracker("小米14多少钱", "ask_price", [entity("product", "小米14")]),
        domain,
    )
    assert "3599 元" in texts(dispatcher)[0]


def test_out_of_stock_offers_alternatives_as_buttons(database, dispatcher, make_tracker, domain):
    tracker = make_tracker("nova12有货吗", "ask_stock", [entity("product", "华为nova12")])
    run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    assert "暂时缺货" in texts(dispatcher)[0]
    buttons = dispatcher.messages[1]["buttons"]
    assert buttons and all(b["payload"].startswith('/ask_stock{"product": ') for b in buttons)


def test_unknown_product_suggests_closest(database, dispatcher, make_tracker, domain):
    tracker = make_tracker("苹果16多少钱", "ask_price", [entity("product", "苹果16")])
    events = run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_product_not_found_suggest"
    assert message["mention"] == "苹果16"
    assert '/ask_price{"product": "iPhone15"}' in [b["payload"] for b in message["buttons"]]
    assert slot_events(events) == {"product": None}


def test_a_model_we_do_not_sell_is_named_and_the_one_it_extends_offered_first(
    database, dispatcher, make_tracker, domain
):
    tracker = make_tracker("iPhone 15 Pro Max多少钱", "ask_price", [entity("product", "iPhone 15 Pro Max")])
    run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_product_not_found_suggest"
    assert message["mention"] == "iPhone 15 Pro Max"
    assert message["buttons"][0]["payload"] == '/ask_price{"product": "iPhone15Pro"}'


def test_unknown_product_without_close_match(database, dispatcher, make_tracker, domain):
    run_action(
        ActionAnswerProduct(),
        dispatcher,
        make_tracker("诺基亚N95", "ask_price", [entity("product", "诺基亚N95")]),
        domain,
    )
    assert texts(dispatcher) == ["utter_product_not_found"]


def test_company_alone_lists_its_products(database, dispatcher, make_tracker, domain):
    run_action(
        ActionAnswerProduct(),
        dispatcher,
        make_tracker("Apple有什么", "ask_product_info", [entity("company", "Apple")]),
        domain,
    )
    [listing] = texts(dispatcher)
    assert listing.startswith("苹果在售的商品有：") and "iPhone15（5999元）" in listing and "华为" not in listing


def test_unknown_company(database, dispatcher, make_tracker, domain):
    run_action(
        ActionAnswerProduct(),
        dispatcher,
        make_tracker("诺基亚有什么", "ask_product_info", [entity("company", "诺基亚")]),
        domain,
    )
    assert texts(dispatcher) == ["utter_company_not_found"]


def test_missing_product_asks_which(database, dispatcher, make_tracker, domain):
    run_action(ActionAnswerProduct(), dispatcher, make_tracker("多少钱", "ask_price"), domain)
    assert texts(dispatcher) == ["utter_ask_which_product"]


def test_problem_told_outside_a_form_offers_help(database, dispatcher, make_tracker, domain):
    tracker = make_tracker("收到的手机屏幕裂了", "inform", slots={"product": "小米14"})
    events = run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    assert texts(dispatcher) == ["utter_offer_help"]
    assert slot_events(events) == {"product": None}


def test_follow_up_question_uses_remembered_product(database, dispatcher, make_tracker, domain):
    tracker = make_tracker("有货吗", "ask_stock", slots={"product": "iPhone15Pro"})
    run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    assert texts(dispatcher) == ["iPhone15Pro 目前有货，库存 12 件，付款后 48 小时内发货。"]


def test_bare_product_after_price_question_answers_the_price(database, dispatcher, make_tracker, domain):
    history = [user_event("多少钱", "ask_price")]
    tracker = make_tracker("小米14", "inform", [entity("product", "小米14")], history=history)
    assert aspect_of_conversation(tracker) == "price"
    run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    assert texts(dispatcher)[0].startswith("小米14（小米）售价 3999 元")


def test_two_products_in_one_question(database, dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "iPhone15和小米14多少钱", "ask_price", [entity("product", "iPhone15"), entity("product", "小米14")]
    )
    run_action(ActionAnswerProduct(), dispatcher, tracker, domain)
    assert [t.split("（")[0] for t in texts(dispatcher)] == ["iPhone15", "小米14"]


def test_database_down_apologises(unreachable_database, dispatcher, make_tracker, domain):
    events = run_action(
        ActionAnswerProduct(),
        dispatcher,
        make_tracker("mate60多少钱", "ask_price", [entity("product", "mate60")]),
        domain,
    )
    assert texts(dispatcher) == ["utter_service_unavailable"]
    assert events == []
