"""Tools that compute: their answer is a function of their arguments, not of the database.

``computes(tool)`` recognizes them: math, geometry, physics and finance formulas, statistics,
conversions, route and time estimates, validators and string transforms. Its signals, for a tool that
takes no entity key (``id``, ``user_id``: a record lives in the database) and addresses no resource path
(``/instances/{id}/resize``): a computing verb first in the name (``calculate_...``, ``convert_...``,
``solve_...``, ``encrypt_...``) or last (``entropy_change_calculate``) after no create or delete; a name
without verbs from a computing field (``math_hypot``, ``physics_...``), naming a calculator
(``currency_converter``) or what transforms or analyses a text (``summarizer``, ``sentiment_analysis``),
or going from one thing to another (``html_to_pdf``); a name without verbs, or one that only gets,
finds, checks or predicts, whose description opens with a computing verb ("Calculates the shortest
driving distance..."); or a formula of ``envs.formulas`` that the name's words select and the parameters
fill (``add(a, b)``, ``is_prime(n)``, ``check_palindrome(text)``). Such a tool is a read whatever its
verbs (``finance_inflation_adjustment`` adjusts nothing stored), and ``compile_compute`` gives it a
``ComputeSpec``. It keeps the read operation schema inference gave it: its bindings validate calls (and
its table of past arguments still feeds ``sample_arguments``), but its SQL never runs.

Its answer (``answer``) is an object whose properties are the ``returns`` schema's where the spec has
one, else the formula's outputs (``{"hypotenuse": 5.0}``), else ``{"result": ..., "unit": ...}`` (or
``{"valid": ...}`` for a validator, a text ``result`` for a transform or a conversion). A formula
computes what it can; everything else is drawn from a stable hash (BLAKE2b, never Python's ``hash``) of
the tool and its canonical arguments, in a range its name makes plausible (a time estimate in minutes, a
price, a probability in 0..1), so equal arguments give equal answers in every episode, replay and
process.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agentscaler.envs.formulas import FORMULAS, USD_RATES, ComputeError, Formula, Input, Unknown, read
from agentscaler.envs.kind_model import opening
from agentscaler.envs.kinds import VERBS, first_verb
from agentscaler.envs.naming import action_words, singular, snake, tokens
from agentscaler.envs.spec import CompiledTool, ComputeOutput, ComputeSpec
from agentscaler.toolspec import ToolSpec, canonical_json, integral

__all__ = ["ComputeError", "answer", "compile_compute", "compute_arguments", "computes"]

TRANSFORM_VERBS = frozenset("encrypt decrypt encode decode hash summarize summarise translate transliterate tokenize "
                            "diacritize".split())
"""Verbs that turn a text into another: their answer is text."""
COMPUTE_VERBS = frozenset("calculate calc compute convert estimate solve evaluate validate".split()) | TRANSFORM_VERBS
COMPUTE_FIELDS = frozenset(singular(w) for w in (
    "math maths mathematics arithmetic algebra geometry trigonometry calculus physics kinematics thermodynamics "
    "mechanics electromagnetism optics").split())  # not statistics: sports APIs' team statistics are data
TRANSFORMERS = frozenset(
    "summarizer summariser summarization encryptor encryption decryptor decryption encoder decoder translator "
    "transliterator transliteration diacritizator diacritizer diacritization tokenizer tokenization hasher formatter "
    "beautifier minifier shortener".split())
"""Nouns naming what transforms a text (``summarizer_for_linguakit``): a name with one computes, and answers text."""
ANALYSES = frozenset("analysis analyzer analyser detector detection classifier classification recognition "
                     "recognizer".split())
"""Nouns naming what tells something about a text or an image (``sentiment_analysis``): it answers a label."""
CALCULATORS = frozenset("calculator converter conversion estimator solver validator validation calculation "
                        "computation regression".split()) | TRANSFORMERS | ANALYSES
RENDERINGS = frozenset("histogram plot diagram qr qrcode barcode wordcloud sparkline".split())
"""What a tool draws from its arguments: creating one (``create_histogram``, ``create_qr_code``) stores nothing."""
TEXT_RESULTS = TRANSFORM_VERBS | TRANSFORMERS | ANALYSES | RENDERINGS
LOOKUP_VERBS = frozenset([None, "get", "find", "check", "predict"])
"""A name with no verb or one of these may still compute: its description's opening says ("Calculates...")."""
VALIDATION = frozenset("valid validate validator validation verify verification verifier check checker is".split())
"""Words that make a name a check: they add the word ``valid`` to its words (``check_email`` -> email valid)."""
_PREPOSITIONS = frozenset("of for in between from to given with based using on at by".split())
_FILLER = frozenset("number two integer value of the string text list".split())


def _is_key(param: str) -> bool:
    name = snake(param)
    return name in ("id", "is_id", "uuid") or name.endswith(("_id", "_ids", "_uuid"))


def _props(tool: ToolSpec) -> dict[str, dict]:
    props = tool.parameters.get("properties") or {}
    return {p: s if isinstance(s, dict) else {} for p, s in props.items()}


def _words(text: str) -> list[str]:
    words = [singular(w) for w in tokens(text)]
    return words + ["valid"] if not VALIDATION.isdisjoint(words) else words


def computes(tool: ToolSpec) -> bool:
    """Whether the tool computes its answer from its arguments (see the module docstring)."""
    if (tool.http_method or "").upper() in ("PUT", "PATCH", "DELETE") or "{" in (tool.http_path or ""):
        return False
    props = _props(tool)
    if any(_is_key(p) for p in props):
        return False
    words = [singular(w) for w in action_words(tool.name, tool.http_method)]
    if not words:
        return False
    verbs = [w for w in words if w in VERBS or w in COMPUTE_VERBS]
    first = verbs[0] if verbs else None
    first_kind = "read" if first in COMPUTE_VERBS else VERBS.get(first)
    if first_kind == "create" and not RENDERINGS.isdisjoint(words):
        return True
    if first in COMPUTE_VERBS:  # not calculate_and_save_total
        return not any(VERBS.get(v) in ("create", "delete") for v in verbs)
    if words[-1] in COMPUTE_VERBS and first_kind not in ("create", "delete"):
        return True
    if first is None and not (COMPUTE_FIELDS.isdisjoint(words) and CALCULATORS.isdisjoint(words)):
        return True
    if first is None and _conversion(words):
        return True
    summary = [singular(w) for w in tokens(opening(tool.description))[:8]]
    if first in LOOKUP_VERBS and first_verb(summary) in COMPUTE_VERBS:
        return True
    found = _match(_words(tool.name), props, _required(tool))
    if found is None:
        return False
    named = {w for ws in found[0].words for w in ws} | {"valid"}
    return first_kind in (None, "read") or set(words) <= named | _FILLER


def _conversion(words: list[str]) -> bool:
    """A verbless name from one thing to another (``html_to_pdf``, ``text_to_speech``) converts."""
    return "to" in words[1:-1]


def _required(tool: ToolSpec) -> set[str]:
    return set(tool.parameters.get("required") or [])


# --- plausible quantities --------------------------------------------------------------------------
@dataclass(frozen=True)
class Quantity:
    low: float
    high: float
    digits: int  # 0: a whole number
    unit: str | None = None


QUANTITIES: dict[str, Quantity] = {
    "probability": Quantity(0, 1, 3), "percent": Quantity(0, 100, 1, "%"), "rate": Quantity(0.5, 12, 2, "%"),
    "money": Quantity(5, 5000, 2), "minutes": Quantity(5, 240, 0, "minutes"), "hours": Quantity(1, 48, 1, "hours"),
    "days": Quantity(1, 60, 0, "days"), "years": Quantity(1, 30, 0, "years"), "distance": Quantity(1, 2000, 1, "km"),
    "length": Quantity(1, 100, 2), "area": Quantity(1, 1000, 2), "volume": Quantity(1, 1000, 2),
    "mass": Quantity(1, 150, 1, "kg"), "temperature": Quantity(-10, 40, 1, "°C"),
    "speed": Quantity(5, 120, 1, "km/h"), "count": Quantity(1, 500, 0), "score": Quantity(0, 100, 1),
    "energy": Quantity(10, 5000, 1), "number": Quantity(1, 1000, 2), "acceleration": Quantity(0.5, 20, 2),
    "charge": Quantity(1e-6, 1e-3, 8), "current": Quantity(0.1, 50, 2), "voltage": Quantity(1, 240, 1),
    "constant": Quantity(1e-7, 1e-3, 9),
}
_KIND_WORDS = {
    "probability": "probability likelihood chance odds", "percent": "percent percentage pct share",
    "rate": "rate interest inflation growth yield apr",
    "money": ("price cost fee fare payment salary income revenue profit budget amount balance tax tip worth money "
              "expense saving principal loan investment deposit bill charge wage"),
    "minutes": "time duration eta minute", "hours": "hour", "days": "day", "years": "year age term period",
    "distance": "distance", "length": "length radius width height depth side base perimeter circumference diameter",
    "area": "area", "volume": "volume capacity", "mass": "weight mass", "temperature": "temperature temp",
    "speed": "speed velocity", "count": "count number quantity population size", "score": "score rating index grade",
    "energy": "energy calorie power force", "acceleration": "acceleration gravity", "charge": "charge",
    "current": "current", "voltage": "voltage", "constant": "capacitance inductance permeability permittivity",
}
KIND_OF_WORD = {w: kind for kind, words in _KIND_WORDS.items() for w in words.split()}
_LISTS = frozenset("roots factors primes sequence".split())


def kind_of(words: list[str]) -> str:
    """The quantity a name talks about: its last word that names one (``travel_time`` -> minutes)."""
    return next((KIND_OF_WORD[w] for w in reversed(words) if w in KIND_OF_WORD), "number")


def _output_kind(name: str) -> str:
    words = tokens(name)
    if words[:1] == ["is"] or "valid" in words:
        return "boolean"
    if name in _LISTS:
        return "list"
    return "text" if name in ("reversed", "text") else kind_of([singular(w) for w in words])


# --- compiling -----------------------------------------------------------------------------------
def _type(schema: dict) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return str(kind or "any")


_OPERAND = re.compile(r"[a-z]|[a-z]?\d|num(ber)?_?\d*|value_?\d+|operand_?\d*|first|second|third")
"""Names of interchangeable operands, which ``numbers`` may take one by one (hypot(x, y, z), add(num1, num2))."""
_TAKES = {"list": ("array", "object", "any"), "float": ("number", "integer", "string", "any"),
          "int": ("number", "integer", "string", "any")}
"""The parameter types each formula input type can read (ToolBench passes numbers as strings)."""


def _find(inp: Input, free: dict[str, dict]) -> str | None:
    """The parameter that gives the input: its name an alias, else its last word, else its first word (aliases of
    one or two letters only by the whole name)."""
    names = {p: snake(p) for p, s in free.items() if _type(s) in _TAKES.get(inp.type, (_type(s),))}
    for pick in (lambda n: n, lambda n: n.split("_")[-1], lambda n: n.split("_")[0]):
        for p, name in names.items():
            word = pick(name)
            if word in inp.aliases and (word == name or len(word) > 2):
                return p
    return None


def _bind(f: Formula, props: dict[str, dict], required: set[str], constants: dict[str, Any]) -> dict[str, Any] | None:
    """Input -> parameter (a list of them for ``numbers`` given as scalars), or None when the parameters do not
    fill the formula or leave a required number unused (then the formula is not what the tool computes)."""
    free = dict(props)
    inputs: dict[str, Any] = {}
    for inp in f.inputs:
        if inp.name in constants:
            continue
        if inp.name in ("numbers", "data"):
            arrays = [p for p, s in free.items() if _type(s) in ("array", "object")]
            scalars = [p for p, s in free.items()
                       if _type(s) in ("integer", "number") and _OPERAND.fullmatch(snake(p))]
            chosen = arrays[:1] if arrays else scalars if inp.name == "numbers" else []
            if chosen:
                inputs[inp.name] = chosen[0] if arrays else chosen
                for p in chosen:
                    del free[p]
            elif inp.required:
                return None
            continue
        p = _find(inp, free)
        if p is not None:
            inputs[inp.name] = p
            del free[p]
        elif inp.required:
            return None
    return None if any(p in required and _type(s) in ("integer", "number") for p, s in free.items()) else inputs


def _match(words: list[str], props: dict[str, dict],
           required: set[str]) -> tuple[Formula, dict[str, Any], dict[str, Any]] | None:
    """The first formula the words select and the parameters fill: (formula, inputs, constants)."""
    have = set(words)
    for f in FORMULAS.values():
        if any(ws <= have for ws in f.words):
            constants = f.named(words) if f.named else {}
            inputs = _bind(f, props, required, constants)
            if inputs is not None:
                return f, inputs, constants
    return None


def _return_properties(returns: dict | None) -> dict[str, dict]:
    schema = returns or {}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
    props = schema.get("properties")
    return {p: s if isinstance(s, dict) else {} for p, s in props.items()} if isinstance(props, dict) else {}


def _outputs(tool: ToolSpec, f: Formula | None, params: list[str]) -> list[ComputeOutput]:
    """The answer's properties: the returns schema's, else the formula's, else a result (and its unit)."""
    returned = _return_properties(tool.returns)
    if returned:
        numeric = [p for p, s in returned.items() if _type(s) in ("number", "integer", "any")]
        return [_returned(name, schema, f, numeric, params) for name, schema in returned.items()]
    if f is not None:
        return [ComputeOutput(name=o, kind=_output_kind(o), of=o) for o in f.outputs]
    if "valid" in _words(tool.name):
        return [ComputeOutput(name="valid", kind="boolean")]
    words = [singular(w) for w in action_words(tool.name)]
    nouns = [w for w in words if w not in COMPUTE_VERBS]
    kind = kind_of(nouns)
    if kind == "number" and (_conversion(words) or not TEXT_RESULTS.isdisjoint(words)):
        return [ComputeOutput(name="result", kind="text")]
    if kind == "number":  # "Estimate the travel time for...": what the description's opening phrase names
        phrase = [singular(w) for w in tokens(opening(tool.description))[:12]]
        kind = kind_of(phrase[:next((i for i, w in enumerate(phrase) if w in _PREPOSITIONS), len(phrase))])
    unit = [ComputeOutput(name="unit", kind="unit")] if QUANTITIES[kind].unit else []
    return [ComputeOutput(name="result", kind=kind), *unit]


def _returned(name: str, schema: dict, f: Formula | None, numeric: list[str], params: list[str]) -> ComputeOutput:
    """A property of the returns schema: the formula's output of that name (or its one output, for the one numeric
    property), else the string argument of that name (``unit``), else a value of its type drawn from the hash."""
    if f and (name in f.outputs or (len(f.outputs) == 1 and numeric == [name])):
        of = name if name in f.outputs else f.outputs[0]
        return ComputeOutput(name=name, kind=_output_kind(of), of=of)
    kind = _type(schema)
    if kind == "string" and name in params:
        return ComputeOutput(name=name, kind="argument", of=name)
    if kind in ("boolean", "object"):
        return ComputeOutput(name=name, kind=kind)
    if kind in ("string", "array"):
        return ComputeOutput(name=name, kind="text" if kind == "string" else "list")
    quantity = kind_of([singular(w) for w in tokens(name)])
    return ComputeOutput(name=name, kind="count" if kind == "integer" and QUANTITIES[quantity].digits else quantity)


def compile_compute(tool: ToolSpec, params: list[str]) -> ComputeSpec:
    """How the tool answers: the formula its name (else its description's opening) selects and its parameters
    fill, and the outputs it reports; ``params`` are the parameters it is called with."""
    props = {p: s for p, s in _props(tool).items() if p in params}
    required = _required(tool)
    words = _words(tool.name)
    found = _match(words, props, required) or _match(words + _words(opening(tool.description)), props, required)
    f, inputs, constants = found or (None, {}, {})
    return ComputeSpec(formula=f.name if f else None, inputs=inputs, constants=constants, params=list(params),
                       defaults={p: s["default"] for p, s in props.items() if s.get("default") is not None},
                       outputs=_outputs(tool, f, list(params)))


# --- answering -----------------------------------------------------------------------------------
def _canonical(v: Any) -> Any:
    """Equal arguments, equal text: 3.0 is 3 (an integer parameter accepts either)."""
    if isinstance(v, list):
        return [_canonical(x) for x in v]
    if isinstance(v, dict):
        return {k: _canonical(x) for k, x in v.items()}
    return integral(v)


def _digest(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(canonical_json(parts).encode(), digest_size=8).digest(), "big")


def _pseudo(kind: str, digest: int) -> Any:
    """A plausible value of this kind, derived from a 64-bit digest."""
    u = digest / 2**64
    if kind == "boolean":
        return u < 0.75
    if kind == "text":
        return f"{digest:016x}"[:8]
    if kind == "object":
        return {}
    if kind == "list":
        return [_pseudo("number", _digest(digest, i)) for i in range(3)]
    q = QUANTITIES.get(kind, QUANTITIES["number"])
    v = q.low + u * (q.high - q.low)
    return round(v) if q.digits == 0 else round(v, q.digits)


def _tidy(v: Any) -> Any:
    """A result as JSON carries it faithfully: finite, 10 significant digits, integers within 64 bits."""
    if isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -(1 << 63) <= v < (1 << 63) else _tidy(float(v))
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ComputeError("the result is too large to represent")
        return float(f"{v:.10g}") + 0.0  # -0.0 is 0.0
    if isinstance(v, (list, tuple)):
        return [_tidy(x) for x in v]
    return v


def _evaluate(spec: ComputeSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The formula's outputs for these arguments; {} where there is no formula or an input is unreadable."""
    f = FORMULAS.get(spec.formula or "")
    if f is None:
        return {}
    kwargs = {}
    try:
        for inp in f.inputs:
            source = spec.inputs.get(inp.name)
            if isinstance(source, list):
                raw: Any = [values[p] for p in source if p in values]
            elif source in values:
                raw = values[source]
            elif inp.name in spec.constants:
                raw = spec.constants[inp.name]
            elif inp.required:
                return {}
            else:
                continue
            kwargs[inp.name] = read(raw, inp.type, source if isinstance(source, str) else inp.name)
        result = f.fn(**kwargs)
        results = result if len(f.outputs) > 1 else (result,)
        return {name: _tidy(v) for name, v in zip(f.outputs, results)}
    except Unknown:
        return {}
    except ComputeError:
        raise
    except (ArithmeticError, ValueError) as e:  # OverflowError, ZeroDivisionError, StatisticsError...
        raise ComputeError(f"{f.name.replace('_', ' ')} is undefined here: {e}") from None


def answer(tool: CompiledTool, args: dict[str, Any]) -> dict[str, Any]:
    """The computing tool's answer to validated arguments; ComputeError where the computation is undefined."""
    spec = tool.compute
    values = {**spec.defaults, **{p: _canonical(args[p]) for p in spec.params if args.get(p) is not None}}
    computed = _evaluate(spec, values)
    result: dict[str, Any] = {}
    for i, out in enumerate(spec.outputs):
        if out.kind == "argument":  # reported as given; left out when it was not
            if out.of in values:
                result[out.name] = values[out.of]
        elif out.of in computed:
            result[out.name] = computed[out.of]
        elif out.kind == "unit":  # the unit of the result before it
            result[out.name] = QUANTITIES[spec.outputs[i - 1].kind].unit
        else:
            result[out.name] = _pseudo(out.kind, _digest(tool.tool_id, out.name, values))
    return result


# --- arguments for tasks ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _faker():
    from faker import Faker  # imported on first use: only task sampling needs it

    return Faker()


_PLACES = frozenset("location city origin destination start end place address from to town stop".split())
_TEXTS = frozenset("text string sentence phrase word input query message content".split())
_POINTS = frozenset("point coordinate coordinates location position vector".split())
_EXPRESSIONS = ["x**2 + 3*x + 2", "3*x**3 - x", "sin(x)", "exp(x) - 1", "2*x + 1", "x**4 - 2*x**2"]
_SUBSTANCES = ["water", "ethanol", "iron", "copper", "nitrogen", "helium", "aluminium", "glucose"]


def _plausible(param: str, schema: dict, rng: random.Random, role: str | None) -> Any:
    """A value a user might give for this parameter: its enum or default, else by its type and name."""
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    if schema.get("default") is not None and rng.random() < 0.3:
        return schema["default"]
    kind = _type(schema)
    words = [singular(w) for w in tokens(role or param)] + [singular(w) for w in tokens(param)]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "number"):
        q = QUANTITIES[kind_of(words)]
        v = rng.uniform(q.low, q.high)
        return round(v) if kind == "integer" or q.digits == 0 else round(v, q.digits)
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        size = 2 if not _POINTS.isdisjoint(words) else rng.randint(3, 6)  # a point is (x, y)
        return [_plausible(param, items or {"type": "number"}, rng, role) for _ in range(size)]
    if kind == "object":
        fake = _faker()
        fake.seed_instance(rng.getrandbits(32))
        return {fake.word(): round(rng.uniform(50, 100)) for _ in range(3)}
    fake = _faker()
    fake.seed_instance(rng.getrandbits(32))
    if "currency" in words:
        return rng.choice(sorted(USD_RATES))
    if "unit" in words:
        return rng.choice(["cm", "m", "km", "inch", "foot", "mile"])
    if "email" in words:
        return fake.email()
    if "phone" in words:
        return fake.phone_number()
    if "isbn" in words:
        return fake.isbn13()
    if "card" in words:
        return fake.credit_card_number()
    if "url" in words or "website" in words:
        return fake.url()
    if "company" in words:
        return fake.company()
    if "name" in words:
        return fake.name()
    if not {"function", "equation", "expression", "polynomial", "formula"}.isdisjoint(words):
        return rng.choice(_EXPRESSIONS)
    if not {"substance", "compound", "gas", "material", "element"}.isdisjoint(words):
        return rng.choice(_SUBSTANCES)
    if "date" in words:
        return fake.date()
    if not _PLACES.isdisjoint(words):
        return fake.city()
    return fake.sentence(nb_words=5).rstrip(".") if not _TEXTS.isdisjoint(words) else fake.word()


def compute_arguments(tool: CompiledTool, rng: random.Random) -> dict[str, Any]:
    """Plausible arguments for a computing tool: every input its formula reads (sides that make a triangle, a
    quadratic with real roots, units of one dimension), every required parameter, about half the others."""
    spec = tool.compute
    schemas = tool.openai_schema.get("function", tool.openai_schema).get("parameters") or {}
    props, required = schemas.get("properties") or {}, set(schemas.get("required") or [])
    f = FORMULAS.get(spec.formula or "")
    chosen = f.sample(rng) if f and f.sample else {}
    role_of = {p: role for role, source in spec.inputs.items()
               for p in (source if isinstance(source, list) else [source])}
    numeric = {i.name for i in f.inputs if i.type in ("float", "int")} if f else set()
    args = {}
    for p in spec.params:
        schema = props.get(p) if isinstance(props.get(p), dict) else {}
        role = role_of.get(p)
        if role is None and p not in required and rng.random() < 0.5:
            continue
        v = chosen.get(role)
        if v is None or (schema.get("enum") and v not in schema["enum"]):
            numeric_text = role in numeric and _type(schema) == "string"  # ToolBench's "12.5"
            v = _plausible(p, {**schema, "type": "number"} if numeric_text else schema, rng, role)
        args[p] = _as_type(v, _type(schema))
    return args


def _as_type(v: Any, kind: str) -> Any:
    """A sampled value as a parameter of this type takes it: "12.5" for a string, 12 for an integer."""
    if kind == "string" and not isinstance(v, str):
        return str(v)
    return round(v) if kind == "integer" and isinstance(v, float) else v
