"""salesplan.money: Decimal at the boundary, exact results."""
from decimal import Decimal as D

import pytest

import salesplan as sp
from salesplan import money as m


def test_allocate_by_hand():
    # 10000 cents over 1:1:1: floors 3333 each, one cent left to the lowest index on the tie
    assert m.allocate(D("100.00"), [1, 1, 1]) == [D("33.34"), D("33.33"), D("33.33")]
    # docs/money.md's worked example: remainders .73, .73, .55 -> two cents to parts 0, 1
    assert m.allocate("1000000.00", [420000, 310000, 150000]) == \
        [D("477272.73"), D("352272.73"), D("170454.54")]
    # minor units and equal weights
    assert m.allocate(100, count=3, minor=True) == [34, 33, 33]
    # Decimal weights 0.5 : 0.25 : 1 = 2 : 1 : 4 of 1000 cents: 285.7, 142.9, 571.4 ->
    # floors 285, 142, 571 (998); the two cents to the remainders .86 and .71
    assert m.allocate("10", [D("0.5"), D("0.25"), 1]) == [D("2.86"), D("1.43"), D("5.71")]
    # a negative total mirrors
    assert m.allocate("-100", [1, 1, 1]) == [D("-33.34"), D("-33.33"), D("-33.33")]
    # yen: no decimals
    assert m.allocate(100, [1, 2], currency="JPY") == [D(33), D(67)]
    for parts, total in ((m.allocate("0.07", [3, 1, 5, 0, 2]), D("0.07")),):
        assert sum(parts) == total


def test_allocate_options():
    # locked part 0 at 50; 50 left over 1:1
    assert m.allocate("100", [1, 1, 1], locked={0: "50"}) == [D("50.00"), D("25.00"), D("25.00")]
    assert m.allocate("100", [1, 1, 1], locked=[None, "10", None]) == \
        [D("45.00"), D("10.00"), D("45.00")]
    # max 20 on part 0: it is clamped, 80 over the other two
    assert m.allocate("100", [1, 1, 1], max=["20", None, None]) == \
        [D("20.00"), D("40.00"), D("40.00")]
    assert m.allocate("100", [1, 1, 1], min=[None, None, "50"]) == \
        [D("25.00"), D("25.00"), D("50.00")]
    # the guide: 5050 over [0, 1], min [5000, 0], unit 100 -> 5000, 50
    assert m.allocate(5050, [0, 1], min=[5000, None], unit=100, minor=True) == [5000, 50]
    # unit of 10.00: 100.00 over 1:1:1 -> 10 units of 10.00: 4, 3, 3
    assert m.allocate("100", [1, 1, 1], unit="10") == [D("40.00"), D("30.00"), D("30.00")]


def test_allocate_numpy():
    np = pytest.importorskip("numpy")
    assert m.allocate(10000, np.array([1, 1, 1], dtype=np.int64), minor=True) == \
        [3334, 3333, 3333]
    assert m.allocate(10000, [1, 1], min=np.array([0, 6000]), minor=True) == [4000, 6000]


def test_allocate_errors():
    with pytest.raises(sp.InvalidError, match=r"weights\[1\] = -2 is negative"):
        m.allocate("1", [1, -2])
    with pytest.raises(sp.InvalidError, match="part 1: min 9 is above max 8"):
        m.allocate(100, [1, 1], min=[0, 9], max=[None, 8], minor=True)
    with pytest.raises(sp.InvalidError, match="the minimums of the unlocked parts sum to 110"):
        m.allocate(100, [1, 1], min=[55, 55], minor=True)
    with pytest.raises(TypeError, match="total: expected a Decimal, int or str, not float"):
        m.allocate(1.5, [1])
    with pytest.raises(sp.InvalidError, match="total: 1.005 has more decimal places"):
        m.allocate("1.005", [1])
    with pytest.raises(TypeError, match=r"weights\[1\]: expected a Decimal, int or str, not "
                                        r"float"):
        m.allocate("1", [1, 0.5])
    with pytest.raises(sp.InvalidError, match="min: 1 values where 2 are needed"):
        m.allocate("1", [1, 1], min=[0])
    with pytest.raises(sp.InvalidError, match="count: give weights"):
        m.allocate("1")
    with pytest.raises(sp.InvalidError, match="locked: part 5 is beyond the 2 parts"):
        m.allocate("1", [1, 1], locked={5: 1})
    with pytest.raises(sp.InvalidError, match="unit: 0 is not above zero"):
        m.allocate("1", [1, 1], unit=0)
    with pytest.raises(TypeError, match=r"min\[0\]: expected an int, not Decimal"):
        m.allocate(1, [1], min=[D(0)], minor=True)
    with pytest.raises(sp.InvalidError, match="exponent: give exponent or currency"):
        m.allocate(1, [1], exponent=2, currency="CNY")
    with pytest.raises(sp.NotFoundError):
        m.allocate(1, [1], currency="ZZZ")


def test_checked_arithmetic():
    assert m.add("1.10", "2.205", exponent=3) == D("3.305")
    assert m.sub("1", "0.01") == D("0.99")
    assert m.mul("0.05", 7) == D("0.35")
    big = D(2**62) / 100
    with pytest.raises(sp.ExactOverflowError, match="add"):
        m.add(big, big)
    with pytest.raises(sp.ExactOverflowError, match="mul"):
        m.mul(big, 2)
    with pytest.raises(sp.InvalidError, match="b: 0.005 has more decimal places"):
        m.add("1", "0.005")
    # a 3.5 % commission on 200.00 is 7.00; on 0.30: 0.0105 -> 0.01 (half even)
    assert m.mul_rate("200.00", "0.035") == D("7.00")
    assert m.mul_rate("0.30", "0.035") == D("0.01")
    assert m.ratio("50", "200") == D("0.25")
    assert m.dec_mul("1.5", "0.1") == D("0.15")
    assert m.dec_div(1, 3) == D("0.333333333")
    assert m.dec_div(2, 3, "down") == D("0.666666666")
    with pytest.raises(sp.InvalidError, match="dec_div"):
        m.dec_div(1, 0)


def test_rounding_primitives():
    # 10 / 4 = 2.5: half even 2, half up 3; -5 / 2 = -2.5 half up -3, floor -3, ceiling -2
    assert m.muldiv(10, 1, 4) == 2 and m.muldiv(10, 1, 4, "half_up") == 3
    assert m.div_round(-5, 2, sp.Rounding.HALF_UP) == -3
    assert m.div_round(-5, 2, "floor") == -3 and m.div_round(-5, 2, "ceiling") == -2
    # the 128-bit intermediate: (2^62 * 4) / 8 = 2^61
    assert m.muldiv(2**62, 4, 8) == 2**61
    with pytest.raises(sp.InvalidError, match="muldiv"):
        m.muldiv(1, 1, 0)
    with pytest.raises(sp.ExactOverflowError, match="muldiv"):
        m.muldiv(2**62, 4, 1)
    with pytest.raises(sp.InvalidError, match="rounding: unknown Rounding 'nearest'"):
        m.div_round(1, 2, "nearest")
    with pytest.raises(TypeError, match="a: expected an int, not Decimal"):
        m.muldiv(D(1), 1, 1)
    with pytest.raises(sp.ExactOverflowError, match="a: .* does not fit in int64"):
        m.div_round(2**63, 1)
    assert m.rescale("12.345", 3, 2) == D("12.34")
    assert m.rescale("12.345", 3, 2, "half_up") == D("12.35")
    assert m.rescale("12", 0, 2) == D("12.00")
    assert m.round_to("1234.56", 100, "half_up") == D("1200.00")
    assert m.round_to("1250", 100, "half_even") == D("1200.00")
    with pytest.raises(sp.InvalidError, match="unit: -1 is not above zero"):
        m.round_to("1", -1)
    with pytest.raises(sp.InvalidError, match="exponent: 19 is outside"):
        m.rescale("1", 19, 2)


def test_currency_exponent():
    assert m.currency_exponent("CNY") == 2
    assert m.currency_exponent("JPY") == 0
    assert m.currency_exponent("KWD") == 3
    with pytest.raises(sp.NotFoundError, match="currency 'XAU'"):
        m.currency_exponent("XAU")
    with pytest.raises(TypeError, match="currency: expected str"):
        m.currency_exponent(2)


def test_text(ctx):
    assert m.parse("1234.56") == D("1234.56")
    assert m.parse("1,234.56", grouping=True, ctx=ctx) == D("1234.56")
    assert m.parse("12.340") == D("12.34")
    assert m.parse("-0.005", rounding="half_even") == D("0.00")
    assert m.parse("-0.005", rounding="half_up") == D("-0.01")
    assert m.parse("7", currency="JPY") == D(7)
    with pytest.raises(sp.InvalidError, match=r"unexpected ',' .* at byte 1"):
        m.parse("1,234.56", ctx=ctx)
    with pytest.raises(sp.InvalidError):
        m.parse("12.345")
    with pytest.raises(sp.InvalidError):
        m.parse(" 1")
    with pytest.raises(sp.ExactOverflowError):
        m.parse("99999999999999999999")
    assert m.format(D("-1234.5")) == "-1234.50"
    assert m.format(D("1234567.5"), grouping=True) == "1,234,567.50"
    assert m.format(5, currency="KWD") == "5.000"
    with pytest.raises(sp.InvalidError, match="amount: 0.001 has more decimal places"):
        m.format(D("0.001"))
    assert m.parse_dec("3.5%", percent=True) == D("0.035")
    assert m.parse_dec("3.5", percent=True) == D("0.035")
    assert m.parse_dec("0.1234567895", rounding="half_up") == D("0.123456790")
    assert m.format_dec(D("0.035")) == "0.035"
    assert m.format_dec(D("0.035"), percent=True) == "3.5%"
    assert m.format_dec(12) == "12"
    with pytest.raises(TypeError, match="value: expected a Decimal, int or str, not float"):
        m.format_dec(0.5)
    with pytest.raises(sp.InvalidError):
        m.parse_dec("1.0000000001")
