"""The formulas a computing tool can be recognized as: math, geometry, physics, finance, conversions,
statistics, string transforms and validators.

A formula is a Python function whose parameters are its *inputs*: the name says what the input is
(``radius``, ``principal``), ``ALIASES`` which tool parameters may give it (``loan_amount`` gives a
principal: a parameter's last word counts), the annotation how a value is read (``float``, ``int``,
``str``, ``list``) and a default makes it optional. ``@formula("circle area | area circle", "area")``
registers it for tools whose words include every word of one of the ``|``-separated sets; the
function returns its outputs in the order named. Formulas are tried in the order they are defined
here, the specific before the general (compound interest before interest). Two list inputs are
special: ``numbers`` takes an array parameter or the numeric parameters named like operands
(``math.hypot(x, y, z)``, ``add(num1, num2)``), ``data`` an array or an object's values.

A value that cannot be read (a unit or currency no table knows, text where a number belongs) raises
``Unknown``: the tool then answers from its arguments' hash instead. A call that is mathematically
invalid (a negative square root, sides that make no triangle, a division by zero) raises
``ComputeError``: an error observation, as the real function would give.
"""

from __future__ import annotations

import inspect
import math
import random
import re
import statistics
from dataclasses import dataclass
from typing import Any, Callable

from agentscaler.envs.naming import singular, tokens


class ComputeError(ValueError):
    """The arguments are well-formed but the computation is undefined for them."""


class Unknown(Exception):
    """An input this formula cannot read; the answer falls back to the arguments' hash."""


ALIASES: dict[str, str] = {
    "n": "n number num x value integer input count position",
    "k": "k r choose",
    "x": "x number num value n input",
    "a": "a coefficient_a a_coefficient", "b": "b coefficient_b b_coefficient", "c": "c coefficient_c constant",
    "base": "base b base_length", "exponent": "exponent power exp n",
    "height": "height h altitude",
    "radius": "radius r", "side": "side side_length length edge a size",
    "length": "length l depth", "width": "width w breadth",
    "side1": "side1 side_1 side_a a first_side length1 s1",
    "side2": "side2 side_2 side_b b second_side length2 s2",
    "side3": "side3 side_3 side_c c third_side length3 s3",
    "start": "start lower low min from begin start_number range_start", "end": "end upper high max to limit stop",
    "dividend": "dividend numerator a x num1 number1 first", "divisor": "divisor denominator b y num2 number2 second",
    "old_value": "old_value old initial_value initial original previous prior start_value last_year before",
    "new_value": "new_value new final_value final current end_value this_year after",
    "part": "part portion obtained", "whole": "whole total",
    "value": "value number amount quantity measurement temperature temp degrees input celsius fahrenheit kelvin",
    "percentage": "percentage percent pct rate",
    "from_unit": "from_unit from unit_from source_unit input_unit from_scale source_scale source",
    "to_unit": "to_unit to unit_to target_unit output_unit to_scale target_scale target",
    "amount": "amount value sum money quantity",
    "from_currency": "from_currency from base_currency base source_currency currency_from have source",
    "to_currency": "to_currency to target_currency target quote_currency currency_to want",
    "point1": "point1 point_1 point_a p1 first_point a start", "point2": "point2 point_2 point_b p2 second_point b end",
    "lat1": "lat1 latitude1 lat_1 start_lat origin_lat from_lat from_latitude lat_a",
    "lon1": "lon1 lng1 longitude1 lon_1 start_lon start_lng origin_lon origin_lng from_lon from_lng from_long lon_a",
    "lat2": "lat2 latitude2 lat_2 end_lat destination_lat dest_lat to_lat to_latitude lat_b",
    "lon2": ("lon2 lng2 longitude2 lon_2 end_lon end_lng destination_lon destination_lng dest_lon to_lon to_lng "
             "to_long lon_b"),
    "coordinate1": "coordinate1 coordinate_1 coordinates1 coord1 point1 location1 origin start",
    "coordinate2": "coordinate2 coordinate_2 coordinates2 coord2 point2 location2 destination end",
    "initial_velocity": "initial_velocity initial_speed u v0 start_velocity",
    "acceleration": "acceleration a gravity g", "time": "time t duration seconds",
    "distance": "distance d r separation", "speed": "speed velocity average_speed",
    "mass": "mass m weight", "velocity": "velocity v speed",
    "gravity": "gravity g gravitational_acceleration", "volume": "volume v",
    "current": "current i amperes", "resistance": "resistance ohms", "voltage": "voltage v volts",
    "charge": "charge q", "charge1": "charge1 q1 charge_1 first_charge", "charge2": "charge2 q2 charge_2 second_charge",
    "inductance": "inductance l", "capacitance": "capacitance c",
    "area": "area plate_area a cross_sectional_area", "dielectric_constant": "dielectric_constant permittivity k",
    "principal": ("principal amount sum loan_amount loan initial_amount initial_sum initial_investment investment "
                  "present_value pv deposit capital initial_cost cost purchase_price value balance"),
    "rate": "rate interest_rate annual_rate apr r interest inflation_rate depreciation_rate growth_rate discount_rate",
    "years": "years year time term loan_term duration period periods t n_years",
    "compounds_per_year": "compounds_per_year compounding n frequency compound_frequency times_compounded",
    "future_value": "future_value fv target_amount", "initial_value": "initial_value initial start_value beginning",
    "final_value": "final_value final end_value ending",
    "gain": "gain return final_value revenue ending_value sale_price",
    "net_profit": "net_profit profit",
    "cost": "cost investment initial_investment", "net_income": "net_income income profit",
    "total_assets": "total_assets assets", "shareholder_equity": "shareholder_equity equity shareholders_equity",
    "bill": "bill bill_amount amount total total_bill",
    "tip_percentage": "tip_percentage tip_percent tip percentage rate",
    "people": "people split number_of_people persons guests",
    "price": "price original_price amount cost",
    "discount": "discount discount_percentage discount_rate percentage rate",
    "income": "income amount taxable_income salary price", "tax_rate": "tax_rate rate percentage",
    "weight": "weight mass weight_kg", "bmi_height": "height height_m height_cm",
    "text": "text string s input word sentence str phrase value input_string",
    "text1": "text1 string1 word1 first s1 str1", "text2": "text2 string2 word2 second s2 str2",
    "email": "email email_address address", "phone": "phone phone_number number mobile",
    "isbn": "isbn isbn_number code", "card_number": "card_number number credit_card card", "year": "year",
    "url": "url link address", "population": "population current_population initial_population",
    "favorable_outcomes": "favorable_outcomes event_outcomes success_outcomes favorable successes desired_outcomes",
    "total_outcomes": "total_outcomes outcomes possible_outcomes total",
    "trials": "trials number_of_trials num_trials n",
    "successes": "successes number_of_successes num_success num_successes k",
    "p": "p probability_of_success prob_success success_probability probability",
    "final_velocity": "final_velocity final_speed v final", "specific_heat": "specific_heat specific_heat_capacity c",
    "temperature_change": "temperature_change change_in_temp change_in_temperature delta_t temp_change",
    "gauge_pressure": "gauge_pressure gauge", "atm_pressure": "atm_pressure atmospheric_pressure atmosphere",
    "revenue": "revenue total_revenue sales", "total_liabilities": "total_liabilities liabilities",
    "shares": "shares number_of_shares share_count", "dividend_per_share": "dividend_per_share dividend",
    "cash_flows": "cash_flows cashflows flows", "hits": "hits", "at_bats": "at_bats", "hours": "hours hour",
    "minutes": "minutes minute", "vector1": "vector1 vector_1 a v1", "vector2": "vector2 vector_2 b v2",
    "array1": "array1 x data1 first", "array2": "array2 y data2 second", "x_component": "x_component x",
    "y_component": "y_component y", "use_degrees": "use_degrees degrees in_degrees",
    "resistivity": "resistivity rho", "permeability": "permeability mu0 mu",
    "deductions": "deductions other_deductions deduction",
    "quantity1": "quantity1 mass1 m1", "quantity2": "quantity2 mass2 m2",
    "temperature1": "temperature1 temp1 t1", "temperature2": "temperature2 temp2 t2",
}


@dataclass(frozen=True)
class Input:
    name: str
    type: str  # float, int, str, list or bool
    required: bool  # no default in the function's signature
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Formula:
    name: str
    words: tuple[frozenset[str], ...]
    outputs: tuple[str, ...]
    inputs: tuple[Input, ...]
    fn: Callable[..., Any]
    named: Callable[[list[str]], dict[str, Any]] | None = None  # inputs the tool's name fixes
    sample: Callable[[random.Random], dict[str, Any]] | None = None  # plausible inputs, where ranges won't do


FORMULAS: dict[str, Formula] = {}


def formula(words: str, outputs: str, *, named=None, sample=None):
    """Register the decorated function as a formula (see the module docstring)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        inputs = tuple(
            Input(p.name, str(p.annotation), p.default is inspect.Parameter.empty,
                  tuple(ALIASES.get(p.name, p.name).split()))
            for p in inspect.signature(fn).parameters.values())
        word_sets = tuple(frozenset(singular(w) for w in alt.split()) for alt in words.split("|"))
        FORMULAS[fn.__name__] = Formula(fn.__name__, word_sets, tuple(outputs.split()), inputs, fn, named, sample)
        return fn

    return register


def read(value: Any, kind: str, name: str) -> Any:
    """An argument as the formula input ``name`` of type ``kind`` takes it; Unknown if it cannot be."""
    if kind == "str":
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
    if kind == "list":
        if isinstance(value, dict):
            value = list(value.values())
        elif isinstance(value, str):
            value = [v for v in re.split(r"[,;\s]+", value.strip("[]() ")) if v]
        if not isinstance(value, list) or not value:
            raise Unknown(name)
        return [read(v, "float", name) for v in value]
    if isinstance(value, bool):
        raise Unknown(name)
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "").rstrip("%"))
        except ValueError:
            raise Unknown(name) from None
    if not isinstance(value, (int, float)):
        raise Unknown(name)
    if kind == "int":
        if float(value) != int(value):
            raise ComputeError(f"{name} must be a whole number, got {value}")
        return int(value)
    return float(value)


PER_YEAR = {"annually": 1, "yearly": 1, "annual": 1, "semiannually": 2, "biannually": 2, "quarterly": 4,
            "monthly": 12, "weekly": 52, "daily": 365}


def _per_year(times: str) -> int:
    """Compounding periods a year, as a number or a word (``quarterly``)."""
    n = PER_YEAR.get(times.strip().lower().replace("-", "")) or read(times, "int", "compounds per year")
    _positive(compounds_per_year=n)
    return n


def _fraction(rate: float) -> float:
    """A rate as a fraction: 5 and 0.05 both mean five percent."""
    return rate / 100 if abs(rate) >= 1 else rate


def _positive(**values: float) -> None:
    for name, v in values.items():
        if v <= 0:
            raise ComputeError(f"{name} must be positive, got {v}")


def _nonzero(name: str, v: float) -> float:
    if v == 0:
        raise ComputeError(f"{name} must not be zero")
    return v


# --- units and currencies ------------------------------------------------------------------------
_DIMENSIONS: dict[str, dict[str, float]] = {  # unit names -> factor to the dimension's base unit
    "length": {"m meter metre": 1, "km kilometer kilometre": 1000, "cm centimeter centimetre": 0.01,
               "mm millimeter millimetre": 0.001, "mi mile": 1609.344, "yd yard": 0.9144, "ft foot feet": 0.3048,
               "in inch": 0.0254, "nmi nautical_mile": 1852},
    "mass": {"kg kilogram kilo": 1, "g gram": 0.001, "mg milligram": 1e-6, "lb lbs pound": 0.45359237,
             "oz ounce": 0.028349523125, "t ton tonne metric_ton": 1000, "st stone": 6.35029318},
    "volume": {"l liter litre": 1, "ml milliliter millilitre": 0.001, "gal gallon": 3.785411784,
               "qt quart": 0.946352946, "pt pint": 0.473176473, "cup": 0.2365882365,
               "floz fl_oz fluid_ounce": 0.0295735296, "tbsp tablespoon": 0.0147867648,
               "tsp teaspoon": 0.00492892159, "m3 cubic_meter": 1000},
    "time": {"s sec second": 1, "min minute": 60, "h hr hour": 3600, "day": 86400, "week": 604800,
             "month": 2629746, "year yr": 31556952},
    "speed": {"m/s mps meter_per_second": 1, "km/h kmh kph kilometer_per_hour": 1 / 3.6,
              "mph mile_per_hour": 0.44704, "knot kn": 0.514444},
    "area": {"m2 sq_m square_meter": 1, "km2 sq_km square_kilometer": 1e6, "ha hectare": 1e4,
             "acre": 4046.8564224, "ft2 sq_ft square_foot square_feet": 0.09290304,
             "mi2 sq_mi square_mile": 2589988.110336},
    "energy": {"j joule": 1, "kj kilojoule": 1000, "cal calorie": 4.184, "kcal kilocalorie": 4184,
               "kwh kilowatt_hour": 3.6e6, "btu": 1055.05585},
    "data": {"b byte": 1, "kb kilobyte": 1e3, "mb megabyte": 1e6, "gb gigabyte": 1e9, "tb terabyte": 1e12},
}
UNITS: dict[str, tuple[str, float]] = {
    name: (dimension, factor) for dimension, table in _DIMENSIONS.items()
    for names, factor in table.items() for name in names.split()}
TEMPERATURES = {"c": "c", "celsius": "c", "centigrade": "c", "f": "f", "fahrenheit": "f", "k": "k", "kelvin": "k"}
USD_RATES = {  # units of each currency per US dollar, approximate mid-2024 rates
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 155.0, "CNY": 7.24, "INR": 83.3, "CAD": 1.37, "AUD": 1.51,
    "CHF": 0.90, "MXN": 17.0, "BRL": 5.15, "KRW": 1370.0, "SGD": 1.35, "HKD": 7.81, "SEK": 10.6, "NOK": 10.7,
    "DKK": 6.88, "NZD": 1.64, "ZAR": 18.4, "RUB": 90.0, "TRY": 32.3, "PLN": 3.95, "THB": 36.5, "IDR": 16000.0,
    "AED": 3.67, "SAR": 3.75, "EGP": 47.5, "NGN": 1450.0, "UGX": 3800.0, "XOF": 605.0, "KES": 130.0,
}
CURRENCY_NAMES = {"dollar": "USD", "us_dollar": "USD", "euro": "EUR", "pound": "GBP", "sterling": "GBP",
                  "yen": "JPY", "yuan": "CNY", "renminbi": "CNY", "rmb": "CNY", "rupee": "INR", "franc": "CHF",
                  "won": "KRW", "peso": "MXN", "real": "BRL", "ruble": "RUB", "lira": "TRY", "rand": "ZAR"}


def unit(text: Any) -> str | None:
    """A unit's canonical name (``Kilometers per hour`` -> ``kilometer_per_hour``), a temperature scale, or None."""
    raw = re.sub(r"°|\bdegrees?\b", " ", str(text).strip().lower())
    key = re.sub(r"[\s-]+", "_", raw.strip())
    for candidate in (key, key[:-1] if key.endswith("s") else key, key[:-2] if key.endswith("es") else key,
                      "_".join(singular(w) for w in key.split("_"))):
        if candidate in UNITS or candidate in TEMPERATURES:
            return candidate
    return None


def currency(text: Any) -> str | None:
    code = str(text).strip().upper()
    if code in USD_RATES:
        return code
    key = "_".join(singular(w) for w in tokens(str(text)))
    return CURRENCY_NAMES.get(key) or CURRENCY_NAMES.get(key.split("_")[-1] if key else "")


def _convert(value: float, source: Any, target: Any) -> float:
    a, b = unit(source), unit(target)
    if a is None or b is None:
        raise Unknown("unit")
    if a in TEMPERATURES or b in TEMPERATURES:
        if not (a in TEMPERATURES and b in TEMPERATURES):
            raise ComputeError(f"cannot convert {source} to {target}")
        celsius = {"c": value, "f": (value - 32) * 5 / 9, "k": value - 273.15}[TEMPERATURES[a]]
        return {"c": celsius, "f": celsius * 9 / 5 + 32, "k": celsius + 273.15}[TEMPERATURES[b]]
    (da, fa), (db, fb) = UNITS[a], UNITS[b]
    if da != db:
        raise ComputeError(f"cannot convert {source} ({da}) to {target} ({db})")
    return value * fa / fb


def _named_pair(words: list[str], known: Callable[[str], Any]) -> dict[str, Any]:
    """``km_to_miles``, ``celsius_to_fahrenheit``, ``usd_to_eur``: the two things a name converts between."""
    for i, w in enumerate(words):
        if w in ("to", "2", "into") and 0 < i < len(words) - 1 and known(words[i - 1]) and known(words[i + 1]):
            return {"source": words[i - 1], "target": words[i + 1]}
    return {}


def _named_units(words: list[str]) -> dict[str, Any]:
    pair = _named_pair(words, unit)
    return {"from_unit": pair["source"], "to_unit": pair["target"]} if pair else {}


def _named_currencies(words: list[str]) -> dict[str, Any]:
    pair = _named_pair(words, currency)
    return {"from_currency": pair["source"], "to_currency": pair["target"]} if pair else {}


def _sample_units(rng: random.Random) -> dict[str, Any]:
    table = _DIMENSIONS[rng.choice(["length", "mass", "volume", "time", "speed", "area"])]
    source, target = rng.sample([names.split()[-1] for names in table], 2)
    return {"value": round(rng.uniform(1, 500), 1), "from_unit": source, "to_unit": target}


def _sample_currencies(rng: random.Random) -> dict[str, Any]:
    source, target = rng.sample(sorted(USD_RATES)[:12], 2)
    return {"amount": round(rng.uniform(10, 2000), 2), "from_currency": source, "to_currency": target}


# --- conversions ---------------------------------------------------------------------------------
@formula("currency | exchange | forex", "converted_amount rate", named=_named_currencies, sample=_sample_currencies)
def currency_conversion(amount: float, from_currency: str, to_currency: str):
    a, b = currency(from_currency), currency(to_currency)
    if a is None or b is None:
        raise Unknown("currency")
    rate = USD_RATES[b] / USD_RATES[a]
    return round(amount * rate, 2), rate


@formula("convert | conversion | converter | celsius | fahrenheit | kelvin", "converted_value",
         named=_named_units, sample=_sample_units)
def unit_conversion(value: float, from_unit: str, to_unit: str):
    return _convert(value, from_unit, to_unit)


# --- arithmetic and number theory ----------------------------------------------------------------
@formula("hypot | hypotenuse", "hypotenuse")
def hypotenuse(numbers: list):
    return math.hypot(*numbers)


@formula("factorial", "factorial", sample=lambda rng: {"n": rng.randint(0, 20)})
def factorial(n: int):
    if not 0 <= n <= 170:
        raise ComputeError(f"factorial is defined here for 0..170, got {n}")
    return math.factorial(n)


def _integers(numbers: list[float]) -> list[int]:
    if any(v != int(v) for v in numbers):
        raise ComputeError("the numbers must be whole numbers")
    return [int(v) for v in numbers]


@formula("gcd | hcf | greatest common divisor | highest common factor | greatest common factor", "gcd")
def gcd(numbers: list):
    return math.gcd(*_integers(numbers))


@formula("lcm | least common multiple | lowest common multiple", "lcm")
def lcm(numbers: list):
    return math.lcm(*_integers(numbers))


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


@formula("prime factor | factorize | factorise | factorization | factorisation", "factors",
         sample=lambda rng: {"n": rng.randint(2, 10_000)})
def prime_factors(n: int):
    if not 2 <= n <= 10**12:
        raise ComputeError(f"n must be in 2..10**12, got {n}")
    factors, d = [], 2
    while d * d <= n:
        while n % d == 0:
            factors.append(d)
            n //= d
        d += 1
    return factors + ([n] if n > 1 else [])


@formula("product prime", "product", sample=lambda rng: {"n": rng.randint(1, 10)})
def product_of_primes(n: int):
    if not 0 <= n <= 200:
        raise ComputeError(f"n must be in 0..200, got {n}")
    primes: list[int] = []
    candidate = 2
    while len(primes) < n:
        primes += [candidate] if _is_prime(candidate) else []
        candidate += 1
    return math.prod(primes)


@formula("prime", "primes", sample=lambda rng: {"start": (s := rng.randint(1, 200)), "end": s + rng.randint(10, 100)})
def primes_between(start: int, end: int):
    if end - start > 100_000:
        raise ComputeError("the range is limited to 100000 numbers")
    return [n for n in range(max(start, 2), end + 1) if _is_prime(n)]


@formula("prime", "is_prime", sample=lambda rng: {"n": rng.randint(2, 5000)})
def is_prime(n: int):
    if n > 10**12:
        raise ComputeError("n is limited to 10**12")
    return _is_prime(n)


@formula("fibonacci", "sequence", sample=lambda rng: {"n": rng.randint(3, 20)})
def fibonacci(n: int):
    if not 0 <= n <= 90:
        raise ComputeError(f"n must be in 0..90, got {n}")
    seq = [0, 1]
    while len(seq) < n:
        seq.append(seq[-1] + seq[-2])
    return seq[:n]


def _quadratic_sample(rng: random.Random) -> dict[str, Any]:
    a, r1, r2 = rng.choice([1, 1, 2, -1, 3]), rng.randint(-9, 9), rng.randint(-9, 9)
    return {"a": a, "b": -a * (r1 + r2), "c": a * r1 * r2}


@formula("quadratic", "roots", sample=_quadratic_sample)
def quadratic(a: float, b: float, c: float):
    if a == 0:
        return [-c / _nonzero("b", b)]
    disc = b * b - 4 * a * c
    if disc >= 0:
        return sorted({(-b - math.sqrt(disc)) / (2 * a), (-b + math.sqrt(disc)) / (2 * a)})
    re_, im = -b / (2 * a) + 0.0, math.sqrt(-disc) / abs(2 * a)  # + 0.0: no "-0"
    return [f"{_g(re_)}-{_g(im)}i", f"{_g(re_)}+{_g(im)}i"]


def _g(v: float) -> str:
    return f"{v:.6g}"


def _pair(first: str, second: str, low: int = -10, high: int = 10):
    """A sampler of two vectors of one length (cosine similarity, correlation)."""
    def sample(rng: random.Random) -> dict[str, Any]:
        size = rng.randint(2, 6)
        return {name: [rng.randint(low, high) for _ in range(size)] for name in (first, second)}
    return sample


@formula("binomial", "probability", sample=lambda rng: {"trials": (t := rng.randint(5, 30)),
                                                         "successes": rng.randint(0, t), "p": round(rng.random(), 2)})
def binomial_probability(trials: int, successes: int, p: float):
    if not 0 <= successes <= trials or not 0 <= p <= 1:
        raise ComputeError("need 0 <= successes <= trials and 0 <= p <= 1")
    return math.comb(trials, successes) * p ** successes * (1 - p) ** (trials - successes)


@formula("probability", "probability",
         sample=lambda rng: {"total_outcomes": (n := rng.randint(2, 52)), "favorable_outcomes": rng.randint(1, n)})
def probability(favorable_outcomes: float, total_outcomes: float):
    if not 0 <= favorable_outcomes <= total_outcomes:
        raise ComputeError("favorable outcomes must lie between 0 and the total outcomes")
    return favorable_outcomes / _nonzero("total outcomes", total_outcomes)


@formula("combination | binomial coefficient | choose | ncr", "combinations",
         sample=lambda rng: {"n": (n := rng.randint(3, 30)), "k": rng.randint(0, n)})
def combinations(n: int, k: int):
    if not 0 <= k <= n or n > 10_000:
        raise ComputeError(f"need 0 <= k <= n <= 10000, got n={n}, k={k}")
    return math.comb(n, k)


@formula("permutation | npr", "permutations",
         sample=lambda rng: {"n": (n := rng.randint(3, 20)), "k": rng.randint(0, n)})
def permutations(n: int, k: int):
    if not 0 <= k <= n or n > 10_000:
        raise ComputeError(f"need 0 <= k <= n <= 10000, got n={n}, k={k}")
    return math.perm(n, k)


@formula("square root | sqrt", "square_root")
def square_root(x: float):
    if x < 0:
        raise ComputeError(f"no real square root of {x}")
    return math.sqrt(x)


@formula("power | exponent | exponentiation | pow", "result",
         sample=lambda rng: {"base": rng.randint(2, 20), "exponent": rng.randint(0, 8)})
def power(base: float, exponent: float):
    try:
        result = base ** exponent
    except (OverflowError, ZeroDivisionError) as e:
        raise ComputeError(f"{base} ** {exponent}: {e}") from None
    if isinstance(result, complex):
        raise ComputeError(f"{base} ** {exponent} is not a real number")
    return result


@formula("logarithm | natural log | log base | ln", "logarithm")
def logarithm(x: float, base: float = math.e):
    if x <= 0 or base <= 0 or base == 1:
        raise ComputeError(f"log of {x} in base {base} is undefined")
    return math.log(x, base)


@formula("sum | add | addition", "sum")
def total(numbers: list):
    return math.fsum(numbers)


@formula("subtract | subtraction | minus", "difference")
def subtract(dividend: float, divisor: float):
    return dividend - divisor


@formula("multiply | multiplication | calc product", "product")
def multiply(numbers: list):
    return math.prod(numbers)


@formula("divide | division | quotient", "quotient")
def divide(dividend: float, divisor: float):
    return dividend / _nonzero("divisor", divisor)


@formula("percentage change | percent change | growth rate | yoy | growth", "percentage_change")
def percentage_change(old_value: float, new_value: float):
    return (new_value - old_value) / _nonzero("old value", old_value) * 100


@formula("percentage | percent", "percentage")
def percentage_of_whole(part: float, whole: float):
    return part / _nonzero("whole", whole) * 100


@formula("percentage | percent", "result")
def percentage_of_value(value: float, percentage: float):
    return value * percentage / 100


# --- statistics ------------------------------------------------------------------------------------
@formula("batting average", "batting_average")
def batting_average(hits: float, at_bats: float):
    return round(hits / _nonzero("at bats", at_bats), 3)


@formula("mean | average | avg", "mean")
def mean(data: list):
    return statistics.fmean(data)


@formula("median", "median")
def median(data: list):
    return statistics.median(data)


@formula("mode", "mode")
def mode(data: list):
    return statistics.mode(data)


@formula("standard deviation | std | stdev | stddev", "standard_deviation")
def standard_deviation(data: list, population: bool = False):
    if len(data) < 2 and not population:
        raise ComputeError("a sample standard deviation needs at least two numbers")
    return statistics.pstdev(data) if population else statistics.stdev(data)


@formula("correlation", "correlation", sample=_pair("array1", "array2", 1, 100))
def correlation(array1: list, array2: list):
    if len(array1) != len(array2) or len(array1) < 2:
        raise ComputeError("correlation needs two arrays of the same length, at least 2")
    return statistics.correlation(array1, array2)


@formula("variance", "variance")
def variance(data: list, population: bool = False):
    if len(data) < 2 and not population:
        raise ComputeError("a sample variance needs at least two numbers")
    return statistics.pvariance(data) if population else statistics.variance(data)


# --- geometry --------------------------------------------------------------------------------------
@formula("circle area | circular area", "area")
def circle_area(radius: float):
    _positive(radius=radius)
    return math.pi * radius ** 2


@formula("circumference | circle perimeter", "circumference")
def circumference(radius: float):
    _positive(radius=radius)
    return 2 * math.pi * radius


@formula("triangle area", "area")
def triangle_area(base: float, height: float):
    _positive(base=base, height=height)
    return base * height / 2


def _triangle_sample(rng: random.Random) -> dict[str, Any]:
    a, b = rng.randint(3, 20), rng.randint(3, 20)
    return {"side1": a, "side2": b, "side3": rng.randint(abs(a - b) + 1, a + b - 1)}


@formula("heron | triangle area", "area", sample=_triangle_sample)
def heron(side1: float, side2: float, side3: float):
    _positive(side1=side1, side2=side2, side3=side3)
    s = (side1 + side2 + side3) / 2
    product = s * (s - side1) * (s - side2) * (s - side3)
    if product <= 0:
        raise ComputeError(f"sides {side1}, {side2}, {side3} do not form a triangle")
    return math.sqrt(product)


@formula("rectangle area", "area")
def rectangle_area(length: float, width: float):
    _positive(length=length, width=width)
    return length * width


@formula("rectangle perimeter", "perimeter")
def rectangle_perimeter(length: float, width: float):
    _positive(length=length, width=width)
    return 2 * (length + width)


@formula("square area", "area")
def square_area(side: float):
    _positive(side=side)
    return side * side


@formula("cuboid | box volume | rectangular prism | prism volume", "volume")
def cuboid_volume(length: float, width: float, height: float):
    _positive(length=length, width=width, height=height)
    return length * width * height


@formula("sphere volume", "volume")
def sphere_volume(radius: float):
    _positive(radius=radius)
    return 4 / 3 * math.pi * radius ** 3


@formula("cylinder volume", "volume")
def cylinder_volume(radius: float, height: float):
    _positive(radius=radius, height=height)
    return math.pi * radius ** 2 * height


@formula("cone volume", "volume")
def cone_volume(radius: float, height: float):
    _positive(radius=radius, height=height)
    return math.pi * radius ** 2 * height / 3


@formula("cube volume", "volume")
def cube_volume(side: float):
    _positive(side=side)
    return side ** 3


@formula("cosine similarity", "similarity", sample=_pair("vector1", "vector2"))
def cosine_similarity(vector1: list, vector2: list):
    if len(vector1) != len(vector2):
        raise ComputeError(f"vectors of different dimensions: {len(vector1)} and {len(vector2)}")
    norm = math.hypot(*vector1) * math.hypot(*vector2)
    return sum(a * b for a, b in zip(vector1, vector2)) / _nonzero("a vector's length", norm)


@formula("vector angle", "angle")
def vector_angle(x_component: float, y_component: float, use_degrees: bool = True):
    angle = math.atan2(y_component, x_component)
    return math.degrees(angle) if use_degrees else angle


@formula("clock angle", "angle", sample=lambda rng: {"hours": rng.randint(1, 12), "minutes": rng.randint(0, 59)})
def clock_angle(hours: float, minutes: float):
    angle = abs(30 * (hours % 12) - 5.5 * minutes) % 360
    return min(angle, 360 - angle)


@formula("euclidean | point distance", "distance", sample=_pair("point1", "point2"))
def euclidean_distance(point1: list, point2: list):
    if len(point1) != len(point2):
        raise ComputeError(f"points of different dimensions: {len(point1)} and {len(point2)}")
    return math.dist(point1, point2)


def _coordinates_sample(rng: random.Random) -> dict[str, Any]:
    return {name: round(rng.uniform(-60, 60) if name.startswith("lat") else rng.uniform(-180, 180), 4)
            for name in ("lat1", "lon1", "lat2", "lon2")}


@formula("distance", "distance_km", sample=_coordinates_sample)
def haversine(lat1: float, lon1: float, lat2: float, lon2: float):
    return _geodesic(lat1, lon1, lat2, lon2)


def _geodesic(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    if not (abs(lat1) <= 90 and abs(lat2) <= 90 and abs(lon1) <= 180 and abs(lon2) <= 180):
        raise ComputeError("latitudes must lie in -90..90 and longitudes in -180..180")
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


@formula("distance", "distance_km",
         sample=lambda rng: {f"coordinate{i}": [round(rng.uniform(-60, 60), 4), round(rng.uniform(-180, 180), 4)]
                             for i in (1, 2)})
def geo_distance(coordinate1: list, coordinate2: list):
    if len(coordinate1) != 2 or len(coordinate2) != 2:
        raise Unknown("coordinates")
    return _geodesic(*coordinate1, *coordinate2)


# --- physics ---------------------------------------------------------------------------------------
@formula("final velocity | final speed", "final_velocity")
def free_fall_velocity(height: float, initial_velocity: float = 0.0, gravity: float = 9.81):
    if height < 0:
        raise ComputeError(f"height must not be negative, got {height}")
    return math.sqrt(initial_velocity ** 2 + 2 * gravity * height)


@formula("final velocity | final speed", "final_velocity")
def final_velocity_over_distance(acceleration: float, distance: float, initial_velocity: float = 0.0):
    squared = initial_velocity ** 2 + 2 * acceleration * distance
    if squared < 0:
        raise ComputeError("the object stops before covering that distance")
    return math.sqrt(squared)


@formula("final velocity | final speed", "final_velocity")
def final_velocity(acceleration: float, time: float, initial_velocity: float = 0.0):
    return initial_velocity + acceleration * time


@formula("displacement | distance traveled | distance travelled | distance covered", "displacement")
def displacement(time: float, initial_velocity: float = 0.0, acceleration: float = 0.0):
    return initial_velocity * time + acceleration * time ** 2 / 2


@formula("acceleration", "acceleration")
def acceleration(initial_velocity: float, final_velocity: float, time: float):
    return (final_velocity - initial_velocity) / _nonzero("time", time)


@formula("maximum height | max height", "max_height")
def max_height(initial_velocity: float, gravity: float = 9.81):
    return initial_velocity ** 2 / (2 * _nonzero("gravity", gravity))


@formula("wave velocity | wave speed", "velocity")
def wave_velocity(frequency: float, wavelength: float):
    return frequency * wavelength


@formula("time", "time")
def travel_time(distance: float, speed: float):
    return distance / _nonzero("speed", speed)


@formula("speed | velocity", "speed")
def speed(distance: float, time: float):
    return distance / _nonzero("time", time)


K_COULOMB, MU_0, EPSILON_0 = 8.9875517923e9, 1.25663706212e-6, 8.8541878128e-12


@formula("electrostatic force | electromagnetic force | coulomb | electric force", "force")
def coulomb_force(charge1: float, charge2: float, distance: float):
    return K_COULOMB * charge1 * charge2 / _nonzero("distance", distance) ** 2


@formula("force", "force")
def force(mass: float, acceleration: float):
    return mass * acceleration


@formula("kinetic energy", "kinetic_energy")
def kinetic_energy(mass: float, velocity: float):
    return mass * velocity ** 2 / 2


@formula("potential energy", "potential_energy")
def potential_energy(mass: float, height: float, gravity: float = 9.81):
    return mass * gravity * height


@formula("momentum", "momentum")
def momentum(mass: float, velocity: float):
    return mass * velocity


@formula("density", "density")
def density(mass: float, volume: float):
    return mass / _nonzero("volume", volume)


@formula("current", "current")
def current(voltage: float, resistance: float):
    return voltage / _nonzero("resistance", resistance)


@formula("voltage | ohm", "voltage")
def voltage(current: float, resistance: float):
    return current * resistance


@formula("resistance", "resistance")
def wire_resistance(resistivity: float, length: float, area: float):
    return resistivity * length / _nonzero("area", area)


@formula("resistance", "resistance")
def resistance(voltage: float, current: float):
    return voltage / _nonzero("current", current)


@formula("electric field", "electric_field")
def electric_field(charge: float, distance: float):
    return K_COULOMB * charge / _nonzero("distance", distance) ** 2


@formula("magnetic field | biot savart", "magnetic_field")
def wire_magnetic_field(current: float, distance: float, permeability: float = MU_0):
    return permeability * current / (2 * math.pi * _nonzero("distance", distance))


@formula("magnetic field", "magnetic_field")
def magnetic_field(current: float, radius: float):
    return MU_0 * current / (2 * _nonzero("radius", radius))


@formula("resonant frequency | resonance", "frequency")
def resonant_frequency(inductance: float, capacitance: float):
    _positive(inductance=inductance, capacitance=capacitance)
    return 1 / (2 * math.pi * math.sqrt(inductance * capacitance))


@formula("heat", "heat")
def heat(mass: float, specific_heat: float, temperature_change: float):
    return mass * specific_heat * temperature_change


@formula("final temperature", "final_temperature")
def mixing_temperature(quantity1: float, temperature1: float, quantity2: float, temperature2: float):
    return (quantity1 * temperature1 + quantity2 * temperature2) / _nonzero("total quantity", quantity1 + quantity2)


@formula("absolute pressure", "absolute_pressure")
def absolute_pressure(gauge_pressure: float, atm_pressure: float = 101.325):
    return gauge_pressure + atm_pressure


@formula("capacitance | capacitor", "capacitance")
def capacitance(area: float, distance: float, dielectric_constant: float = 1.0):
    return EPSILON_0 * dielectric_constant * area / _nonzero("distance", distance)


# --- finance and health ----------------------------------------------------------------------------
@formula("compound interest | compounded interest | compound", "amount interest")
def compound_interest(principal: float, rate: float, years: float, compounds_per_year: str = "1"):
    n = _per_year(compounds_per_year)
    amount = principal * (1 + _fraction(rate) / n) ** (n * years)
    return round(amount, 2), round(amount - principal, 2)


@formula("loan | mortgage | emi | monthly payment | repayment", "monthly_payment total_payment")
def loan_payment(principal: float, rate: float, years: float):
    months = round(years * 12)
    _positive(term=months)
    r = _fraction(rate) / 12
    payment = principal / months if r == 0 else principal * r / (1 - (1 + r) ** -months)
    return round(payment, 2), round(payment * months, 2)


@formula("simple interest | interest", "interest amount")
def simple_interest(principal: float, rate: float, years: float):
    interest = principal * _fraction(rate) * years
    return round(interest, 2), round(principal + interest, 2)


@formula("future value | investment", "future_value")
def future_value(principal: float, rate: float, years: float, compounds_per_year: str = "1"):
    n = _per_year(compounds_per_year)
    return round(principal * (1 + _fraction(rate) / n) ** (n * years), 2)


@formula("npv | net present value", "npv")
def npv(cash_flows: list, rate: float):
    return round(sum(cf / (1 + _fraction(rate)) ** t for t, cf in enumerate(cash_flows)), 2)


@formula("present value", "present_value")
def present_value(future_value: float, rate: float, years: float):
    return round(future_value / (1 + _fraction(rate)) ** years, 2)


@formula("inflation", "adjusted_amount")
def inflation_adjustment(principal: float, rate: float, years: float):
    return round(principal * (1 + _fraction(rate)) ** years, 2)


@formula("depreciation | depreciate | depreciated", "depreciated_value")
def depreciation(principal: float, rate: float, years: float):
    return round(principal * (1 - _fraction(rate)) ** years, 2)


@formula("cagr | compound annual growth", "cagr_percent")
def cagr(initial_value: float, final_value: float, years: float):
    _positive(initial_value=initial_value, final_value=final_value, years=years)
    return ((final_value / initial_value) ** (1 / years) - 1) * 100


@formula("roi | return investment", "roi_percent")
def roi_of_profit(net_profit: float, cost: float):
    return net_profit / _nonzero("cost", cost) * 100


@formula("roi | return investment", "roi_percent")
def roi(gain: float, cost: float):
    return (gain - cost) / _nonzero("cost", cost) * 100


@formula("roa | return asset", "roa_percent")
def roa(net_income: float, total_assets: float):
    return net_income / _nonzero("total assets", total_assets) * 100


@formula("roe | return equity", "roe_percent")
def roe(net_income: float, shareholder_equity: float):
    return net_income / _nonzero("shareholder equity", shareholder_equity) * 100


@formula("profit margin", "margin_percent")
def profit_margin(net_income: float, revenue: float):
    return net_income / _nonzero("revenue", revenue) * 100


@formula("debt ratio", "debt_ratio")
def debt_ratio(total_liabilities: float, total_assets: float):
    return total_liabilities / _nonzero("total assets", total_assets)


@formula("dividend payout", "payout")
def dividend_payout(shares: float, dividend_per_share: float):
    return round(shares * dividend_per_share, 2)


@formula("population", "population")
def population_growth(population: float, rate: float, years: float):
    return round(population * (1 + _fraction(rate)) ** years)


@formula("tip | gratuity", "tip total per_person")
def tip(bill: float, tip_percentage: float = 15.0, people: int = 1):
    _positive(people=people)
    amount = bill * _fraction(tip_percentage)
    return round(amount, 2), round(bill + amount, 2), round((bill + amount) / people, 2)


@formula("discount", "final_price savings")
def discount(price: float, discount: float):
    saved = price * _fraction(discount)
    return round(price - saved, 2), round(saved, 2)


@formula("tax", "tax")
def tax(income: float, tax_rate: float, deductions: float = 0.0):
    return round(max(income - deductions, 0) * _fraction(tax_rate), 2)


@formula("bmi | body mass index", "bmi",
         sample=lambda rng: {"weight": rng.randint(45, 110), "bmi_height": rng.randint(150, 195)})
def bmi(weight: float, bmi_height: float):
    metres = bmi_height / 100 if bmi_height > 3 else bmi_height
    _positive(weight=weight, height=metres)
    return weight / metres ** 2


# --- text and validators ---------------------------------------------------------------------------
@formula("reverse", "reversed")
def reverse(text: str):
    return text[::-1]


@formula("word count | count word", "word_count")
def word_count(text: str):
    return len(text.split())


@formula("character count | count character | count letter | string length | text length", "length")
def character_count(text: str):
    return len(text)


@formula("vowel", "vowel_count")
def vowel_count(text: str):
    return sum(ch in "aeiouAEIOU" for ch in text)


@formula("uppercase | upper", "text")
def uppercase(text: str):
    return text.upper()


@formula("lowercase | lower", "text")
def lowercase(text: str):
    return text.lower()


@formula("capitalize | capitalise | title case", "text")
def title_case(text: str):
    return text.title()


def _letters(text: str) -> str:
    return "".join(ch.lower() for ch in text if ch.isalnum())


@formula("palindrome", "is_palindrome")
def palindrome(text: str):
    return _letters(text) == _letters(text)[::-1]


@formula("anagram", "is_anagram")
def anagram(text1: str, text2: str):
    return sorted(_letters(text1)) == sorted(_letters(text2))


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?(/\S*)?")


@formula("email valid", "valid")
def email_valid(email: str):
    return bool(_EMAIL.fullmatch(email.strip()))


@formula("phone valid", "valid")
def phone_valid(phone: str):
    digits = re.sub(r"\D", "", phone)
    return bool(re.fullmatch(r"\+?[\d\s().-]+", phone.strip())) and 7 <= len(digits) <= 15


@formula("isbn valid", "valid")
def isbn_valid(isbn: str):
    code = re.sub(r"[\s-]", "", isbn).upper()
    if re.fullmatch(r"\d{9}[\dX]", code):
        return sum((10 - i) * (10 if ch == "X" else int(ch)) for i, ch in enumerate(code)) % 11 == 0
    if re.fullmatch(r"\d{13}", code):
        return sum(int(ch) * (3 if i % 2 else 1) for i, ch in enumerate(code)) % 10 == 0
    return False


@formula("luhn | credit card valid | card valid", "valid")
def luhn_valid(card_number: str):
    digits = re.sub(r"[\s-]", "", card_number)
    if not digits.isdigit() or len(digits) < 2:
        return False
    total_ = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                 for i, d in enumerate(int(ch) for ch in reversed(digits)))
    return total_ % 10 == 0


@formula("url valid", "valid")
def url_valid(url: str):
    return bool(_URL.fullmatch(url.strip()))


@formula("leap year | leap", "is_leap_year", sample=lambda rng: {"year": rng.randint(1900, 2100)})
def leap_year(year: int):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
