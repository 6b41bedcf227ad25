import pytest

from zhiyin.services import catalog


@pytest.mark.parametrize(
    "mention, name",
    [
        ("华为Mate60", "华为Mate60"),
        ("mate60", "华为Mate60"),
        ("ＭＡＴＥ６０", "华为Mate60"),
        ("iPhone 15 Pro", "iPhone15Pro"),
        ("爱疯15", "iPhone15"),
        ("带森V12", "戴森V12"),
    ],
)
def test_find_product_by_name_alias_and_variant(session, mention, name):
    assert catalog.find_product(session, mention).name == name


@pytest.mark.parametrize("mention", ["诺基亚N95", "", None, "' OR 1=1 --"])
def test_find_product_unknown_is_none(session, mention):
    assert catalog.find_product(session, mention) is None


@pytest.mark.parametrize(
    "mention, expected",
    [
        ("苹果16", "iPhone15"),
        ("华为的平板", "华为MatePad11"),
        ("小米15", "小米14"),
        ("戴森吸尘器V15", "戴森V12"),
    ],
)
def test_suggestions_contain_closest_products(session, mention, expected):
    names = [s.product.name for s in catalog.suggest_products(session, mention)]
    assert expected in names
    assert len(names) <= 3


@pytest.mark.parametrize(
    "mention, closest",
    [
        # Models the catalog lacks, as the catalog extractor passes them on: the model we sell
        # that they extend comes first.
        ("iPhone 15 Pro Max", "iPhone15Pro"),
        ("红米K70至尊版", "红米K70"),
        ("华为mate60pro", "华为Mate60"),
        ("小米14 Ultra", "小米14"),
    ],
)
def test_the_model_a_mention_extends_is_suggested_first(session, mention, closest):
    assert catalog.find_product(session, mention) is None
    assert catalog.suggest_products(session, mention)[0].product.name == closest


def test_suggestions_are_ranked_and_unrelated_text_gets_none(session):
    ranked = catalog.suggest_products(session, "苹果16")
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    assert catalog.suggest_products(session, "今天天气怎么样") == []


@pytest.mark.parametrize(
    "mention, company", [("Apple", "苹果"), ("iphone", "苹果"), ("华为公司", "华为"), ("SONY", "索尼")]
)
def test_find_company_by_alias(session, mention, company):
    assert catalog.find_company(session, mention) == company


def test_find_company_unknown(session):
    assert catalog.find_company(session, "诺基亚") is None


def test_products_by_company_lists_only_that_company(session):
    products = catalog.products_by_company(session, "戴森")
    assert {p.name for p in products} == {"戴森V12", "戴森吹风机", "戴森卷发棒"}


def test_in_stock_alternatives_same_category_and_available(session):
    nova = catalog.find_product(session, "华为nova12")
    alternatives = catalog.in_stock_alternatives(session, nova)
    assert alternatives
    assert all(p.category == "手机" and p.stock > 0 and p.sku != nova.sku for p in alternatives)
