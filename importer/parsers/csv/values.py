"""CSV values: dates and amounts read exactly, and the date format and decimal mark inferred from every row."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Callable, Mapping, Sequence

from importer.errors import InputError
from importer.parsers.csv.mapping import WRITING_A_MAPPING

__all__ = ["AmbiguousDates", "settle_year_position", "two_digit_years", "DateFormat", "infer_date_format", "ORDERED_FORMATS", "AmountReader", "infer_decimal_mark", "MONTHS"]

class AmbiguousDates(InputError):
    """Every date reads in more than one day/month order: the one question `--date-order` answers."""

    def __init__(self, message: str, *, file: str, line: int, orders: tuple[str, ...], example: str):
        self.orders = orders
        self.example = example
        super().__init__(message, file=file, line=line)


# ─── dates ─────────────────────────────────────────────────────────────────────────────────────

# Month names and their short forms in English, German, French, Dutch, Spanish, Portuguese, Italian and the
# Scandinavian languages; no short form names two months.
MONTHS = {name: number for number, names in enumerate((
    ("jan", "january", "jän", "janv", "janvier", "januar", "januari", "ene", "enero", "janeiro", "gen", "gennaio"),
    ("feb", "february", "febr", "fév", "févr", "février", "februar", "februari", "febrero", "fev", "fevereiro",
     "febbraio"),
    ("mar", "march", "mär", "märz", "mars", "maart", "mrt", "marzo", "março", "marts"),
    ("apr", "april", "avr", "avril", "abr", "abril", "aprile"),
    ("may", "mai", "mei", "mayo", "maio", "mag", "maggio", "maj"),
    ("jun", "june", "juin", "juni", "junio", "junho", "giu", "giugno"),
    ("jul", "july", "juil", "juillet", "juli", "julio", "julho", "lug", "luglio"),
    ("aug", "august", "août", "augustus", "ago", "agosto", "augusti"),
    ("sep", "sept", "september", "septembre", "septiembre", "setiembre", "set", "setembro", "settembre"),
    ("oct", "october", "okt", "oktober", "octobre", "octubre", "out", "outubro", "ott", "ottobre"),
    ("nov", "november", "novembre", "noviembre", "novembro"),
    ("dec", "december", "dez", "dezember", "déc", "décembre", "dic", "diciembre", "dezembro", "dicembre", "des",
     "desember"),
), start=1) for name in names}

_DIRECTIVE_PATTERNS = {
    "d": r"(?P<d>\d{1,2})", "m": r"(?P<m>\d{1,2})", "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d{2})",
    "b": r"(?P<b>[^\W\d_]{3,5}\.?)", "B": r"(?P<b>[^\W\d_]{3,9}\.?)", "H": r"\d{1,2}", "I": r"\d{1,2}",
    "M": r"\d{2}", "S": r"\d{2}(?:[.,]\d+)?", "f": r"\d+", "p": r"[AaPp]\.?[Mm]\.?",
    "z": r"(?:Z|[+-]\d{2}:?\d{2})", "Z": r"[A-Za-z]{1,5}", "%": "%",
}
_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp][Mm])?(?:\s?(?:Z|[+-]\d{2}:?\d{2}))?)?"


class DateFormat:
    """A strptime-like date format compiled to one regular expression, checked (31/02 is an error).

    Times (%H %M %S %p %z) are matched and ignored: the date is the one the bank printed, in its
    own time zone, never shifted to UTC.
    """

    def __init__(self, fmt: str, allow_time: bool = False):
        self.fmt = fmt
        parts = []
        i = 0
        while i < len(fmt):
            ch = fmt[i]
            if ch == "%" and i + 1 < len(fmt):
                parts.append(_DIRECTIVE_PATTERNS[fmt[i + 1]])
                i += 2
                continue
            parts.append(r"\s+" if ch == " " else re.escape(ch))
            i += 1
        self.regex = re.compile(r"\s*" + "".join(parts) + (_TIME_SUFFIX if allow_time else "") + r"\s*")

    def __repr__(self) -> str:
        return f"DateFormat({self.fmt!r})"

    def parse(self, text: str) -> date:
        """One date; ValueError says why not."""
        match = self.regex.fullmatch(text)
        if match is None:
            if not text.strip():
                raise ValueError("the row has no date")
            raise ValueError(f"'{text.strip()}' is not a date in the form {self.fmt}")
        groups = match.groupdict()
        if groups.get("Y"):
            year = int(groups["Y"])
        else:
            short = int(groups["y"])
            year = short + (2000 if short < 69 else 1900)  # strptime's pivot
        if groups.get("b"):
            month = MONTHS.get(groups["b"].rstrip(".").casefold())
            if month is None:
                raise ValueError(f"'{text.strip()}' has an unknown month name '{groups['b']}'")
        else:
            month = int(groups["m"])
        try:
            return date(year, month, int(groups["d"]))
        except ValueError:
            raise ValueError(f"'{text.strip()}' is not a real date (read as {self.fmt})") from None

    def parse_all(self, values: Sequence[str]) -> tuple[dict[str, date], int | None, str | None]:
        """Every distinct value parsed; on failure, the index of the first bad value and why."""
        parsed: dict[str, date] = {}
        for value in dict.fromkeys(values):
            try:
                parsed[value] = self.parse(value)
            except ValueError as exc:
                return parsed, values.index(value), str(exc)
        return parsed, None, None


ORDERED_FORMATS: dict[str, tuple[str, ...]] = {
    # Two-digit years first too (`24/01/05`, Korea's `24.01.05`): they read day first as well, which is the
    # question `settle_year_position` settles when it can and `--date-order` answers when it cannot.
    "ymd": ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y.%m.%d.", "%Y%m%d", "%Y:%m:%d", "%y/%m/%d", "%y.%m.%d",
            "%y-%m-%d", "%Y年%m月%d日"),
    "dmy": ("%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%d-%m-%y", "%d %b %Y", "%d %b %y",
            "%d-%b-%Y", "%d-%b-%y", "%d %B %Y", "%d. %B %Y", "%d/%b/%Y"),
    # Dotted dates are day-first wherever they are written, so no "%m.%d.%Y" here.
    "mdy": ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y"),
}


# How much shorter the span of dates one reading gives must be than another's for it to settle the order.
_SPAN_RATIO = 10


def settle_year_position(readings: Mapping[str, Sequence[date]], formats: Mapping[str, str]) -> set[str]:
    """The orders left of `readings` (order → the dates it reads) once two-digit years are looked at. `24/01/05`
    reads year first (2024-01-05) and day first (2005-01-24) alike; on every row it does when every day of
    month is 31 or less. The wrong reading puts the day of month where the year goes, so a statement of a
    few weeks is spread over as many years as its days of month differ by (05, 10, 12: seven years). A
    reading whose dates span less than a tenth of what every other reading's does is that statement's; when
    the spans are alike (one date, or the same day of month on every row) both stay, and it is asked
    (dotted dates excepted: see below).
    Only the year's position is settled so: day first against month first is left to the data."""
    if "ymd" not in readings or len(readings) < 2 or not any("%y" in fmt for fmt in formats.values()):
        return set(readings)
    spans = {order: (max(dates) - min(dates)).days for order, dates in readings.items()}
    others = [order for order in readings if order != "ymd"]
    if all(spans["ymd"] * _SPAN_RATIO < spans[order] for order in others):
        return {"ymd"}
    if all(spans[order] * _SPAN_RATIO < spans["ymd"] for order in others):
        return set(others)
    if "." in formats["ymd"]:
        # Dotted two-digit years the spans cannot place (one date: Sparkasse's `22.02.18`) are day first, as
        # Germany, Austria, Switzerland and the Nordic banks write them; Korea's year-first `24.01.05` is read
        # so only when its spans show it.
        return set(others)
    return set(readings)


def two_digit_years(values: Sequence[str]) -> bool:
    """Whether dates such as `24/01/05` or `05.01.24` are among the values (no part of them four digits)."""
    return any(_TWO_DIGIT_YEARS.fullmatch(v.strip()) for v in values)


_TWO_DIGIT_YEARS = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2}")


def _not_a_real_date(value: str, preferred_order: str | None) -> str | None:
    """Why a value written like a date (31/02/2026) is not one; None if no known format has its shape."""
    for order in sorted(ORDERED_FORMATS, key=lambda order: order != preferred_order):
        for fmt in ORDERED_FORMATS[order]:
            candidate = DateFormat(fmt, allow_time=True)
            if candidate.regex.fullmatch(value):
                try:
                    candidate.parse(value)
                except ValueError as exc:
                    return str(exc)
    return None


def infer_date_format(values: Sequence[str], preferred_order: str | None, filename: str,
                      line_of: Callable[[int], int], column: str) -> DateFormat:
    """The one date format that reads every value; day/month order settled by the data (a day over
    12 decides), else by `preferred_order`, else an error that says how to settle it."""
    distinct = [v for v in dict.fromkeys(values) if v.strip()]
    if not distinct:
        raise InputError(f"the '{column}' column is empty on every row", file=filename)
    fitting: list[tuple[str, DateFormat, dict[str, date]]] = []
    best_failure: tuple[int, int, str] | None = None  # (values read, index, message)
    for order, formats in ORDERED_FORMATS.items():
        for fmt in formats:
            candidate = DateFormat(fmt, allow_time=True)
            parsed, bad, why = candidate.parse_all(distinct)
            if bad is None:
                fitting.append((order, candidate, parsed))
                break  # one format per order is enough
            if len(parsed) and (best_failure is None or len(parsed) > best_failure[0]):
                best_failure = (len(parsed), bad, why)
    if not fitting:
        if best_failure is not None:
            _, bad, why = best_failure
            index = values.index(distinct[bad])
            raise InputError(f"{why}; every other date in the column reads that way. Fix the value, or set "
                             f"date_format in a mapping", file=filename, line=line_of(index))
        index = values.index(distinct[0])
        unreal = _not_a_real_date(distinct[0], preferred_order)
        if unreal is not None:
            raise InputError(f"{unreal} in the '{column}' column; fix the value, or set date_format in a mapping",
                             file=filename, line=line_of(index))
        raise InputError(f"'{distinct[0].strip()}' in the '{column}' column is not a date psimport can read; "
                         f"set date_format in a mapping ({WRITING_A_MAPPING})", file=filename,
                         line=line_of(index))
    readings = {tuple(parsed[v] for v in distinct) for _, _, parsed in fitting}
    if len(readings) == 1:
        if preferred_order and preferred_order not in {order for order, _, _ in fitting} and \
                two_digit_years(distinct):
            raise _order_cannot_read(preferred_order, distinct, values, fitting, filename, line_of)
        return fitting[0][1]
    if preferred_order:
        for order, candidate, _ in fitting:
            if order == preferred_order:
                return candidate
        if two_digit_years(distinct):
            raise _order_cannot_read(preferred_order, distinct, values, fitting, filename, line_of)
    left = settle_year_position({order: list(parsed.values()) for order, _, parsed in fitting},
                                {order: candidate.fmt for order, candidate, _ in fitting})
    fitting = [f for f in fitting if f[0] in left]
    if len(fitting) == 1:
        return fitting[0][1]
    example = next(v for v in distinct if len({parsed[v] for _, _, parsed in fitting}) > 1)
    fitting.sort(key=lambda f: f[0])
    orders = " or ".join(order for order, _, _ in fitting)
    raise AmbiguousDates(f"the dates are ambiguous: every one (such as '{example.strip()}') reads as {orders}; "
                         "pass --date-order dmy|mdy|ymd, or set date_format in a mapping", file=filename,
                         line=line_of(values.index(example)), orders=tuple(order for order, _, _ in fitting),
                         example=example.strip())


def _order_cannot_read(order: str, distinct: list[str], values: Sequence[str], fitting: list, filename: str,
                       line_of: Callable[[int], int]) -> InputError:
    """`--date-order` (or a mapping's `date_order:`) names an order two-digit-year dates do not read in: an
    error at the first date it cannot read, never a reading in another order."""
    formats = [DateFormat(fmt, allow_time=True) for fmt in ORDERED_FORMATS[order]]
    bad = next((v for v in distinct if not any(_reads(f, v) for f in formats)), distinct[0])
    orders = " or ".join(o for o, _, _ in fitting)
    return InputError(f"'{bad.strip()}' does not read as a date in the order {order} (--date-order or date_order:); "
                      f"the dates read as {orders}: pass --date-order {'|'.join(o for o, _, _ in fitting)}, or set "
                      "date_format in a mapping", file=filename, line=line_of(values.index(bad)))


def _reads(fmt: DateFormat, value: str) -> bool:
    try:
        fmt.parse(value)
        return True
    except ValueError:
        return False


# ─── amounts ───────────────────────────────────────────────────────────────────────────────────

_PLAIN_DOT = re.compile(r"[-+]?\d+(?:\.\d+)?")
_PLAIN_COMMA = re.compile(r"[-+]?\d+(?:,\d+)?")
# Anything but digits, marks, signs and line breaks sends a column to the careful reader.
_UNUSUAL_IN_NUMBERS = re.compile(r"[^\d.,\n+-]")
_NUMBER = {
    # and Indian lakh and crore groups beside a dot (`1,25,000.00` is 125000.00: no other reading has it)
    ".": re.compile(r"(?P<int>\d{1,3}(?:(?P<sep>[,' \u00a0\u202f])\d{3})(?:(?P=sep)\d{3})*|\d{1,2}(?:,\d{2})+,\d{3}|\d*)"
                    r"(?:\.(?P<frac>\d+))?"),
    ",": re.compile(r"(?P<int>\d{1,3}(?:(?P<sep>[.' \u00a0\u202f])\d{3})(?:(?P=sep)\d{3})*|\d*)(?:,(?P<frac>\d+))?"),
}
_SIGNS = frozenset("-+\u2212")
_DEBIT_CREDIT_SUFFIX = re.compile(r"(?<=[\d\s])(DR|CR|Dr|Cr)\.?$")  # a set, not a string: "" in "-+" would be true
_CURRENCY_EDGE = re.compile(r"^(?:[A-Z]{3}\b|[^\w\s.,()'\-+\u2212]{1,3})\s*|\s*(?:\b[A-Z]{3}|[^\w\s.,()'\-+\u2212]{1,3})$")


def _decimals(plain: list[str]) -> list[Decimal | None]:
    """Plain number strings to Decimal, blanks to None."""
    if "" in plain:
        return [Decimal(v) if v else None for v in plain]
    return list(map(Decimal, plain))


class AmountReader:
    """Reads bank amounts to Decimal: `-1,234.56`, `1.234,56`, `£1,183.23`, `+ £1,100.00`, `(42.17)`,
    `42.17-`, `11'373.94`, `-.46`, `1 234,56 €`, `1,25,000.00` (Indian lakh groups, with a dot only). Thousands
    groups must be whole (`12,50` is not
    twelve hundred and fifty when the decimal mark is a dot): a misread is an error, never a guess."""

    def __init__(self, decimal_mark: str):
        self.mark = decimal_mark
        self.plain = _PLAIN_DOT if decimal_mark == "." else _PLAIN_COMMA
        self.number = _NUMBER[decimal_mark]
        self.unusual = _UNUSUAL_IN_NUMBERS

    def parse(self, text: str) -> Decimal | None:
        """One amount, None when blank; ValueError when it is not an amount."""
        if self.plain.fullmatch(text):
            return Decimal(text if self.mark == "." else text.replace(",", "."))
        value = text.strip()
        if not value:
            return None
        negative = False
        signs = 0
        suffix = _DEBIT_CREDIT_SUFFIX.search(value)
        if suffix is not None:
            # `1200.00 DR` is money out, `3250.00 CR` money in (Australian and Indian banks): the suffix is the sign.
            negative, signs, value = suffix.group(1).upper() == "DR", 1, value[:suffix.start()].rstrip()
        if value.startswith("(") and value.endswith(")"):
            negative, signs, value = True, 1, value[1:-1].strip()
        for _ in range(3):  # a sign and a currency in either order, at either end
            previous = value
            if value[:1] in _SIGNS:
                negative ^= value[0] != "+"
                signs += 1
                value = value[1:].lstrip()
            if value[-1:] in _SIGNS:
                negative ^= value[-1] != "+"
                signs += 1
                value = value[:-1].rstrip()
            value = _CURRENCY_EDGE.sub("", value)
            if value == previous:
                break
        if signs > 1:
            raise ValueError(f"'{text.strip()}' is not an amount (more than one sign)")
        match = self.number.fullmatch(value) if value else None
        if match is None or not (match["int"] or match["frac"]):
            raise ValueError(f"'{text.strip()}' is not an amount (decimal mark '{self.mark}')")
        digits = re.sub(r"\D", "", match["int"] or "0")
        result = Decimal(f"{digits}.{match['frac']}" if match["frac"] else digits)
        return -result if negative else result

    def plain_values(self, values: list[str], joined: str | None = None) -> list[str] | None:
        """The values as Decimal() reads them, if every one is a plain number or blank (checked in one
        C-speed scan); None when some value needs the full reading (currency, thousands, brackets)."""
        if joined is None:
            joined = "\n".join(values)
        if self.unusual.search(joined):
            return None
        if self.mark == ",":
            if "." in joined:
                return None
            return joined.replace(",", ".").split("\n")
        return values if "," not in joined else None

    def parse_column(self, values: list[str], joined: str | None = None
                     ) -> tuple[list[Decimal | None], int | None, str | None]:
        """Every value converted (None for blanks); on failure, the index of the first bad value and why."""
        plain = self.plain_values(values, joined)
        if plain is not None:
            try:
                return _decimals(plain), None, None
            except InvalidOperation:
                pass  # "1.2.3" or a lone "-": the per-value pass below names it
        result: list[Decimal | None] = []
        cache: dict[str, Decimal | None] = {}
        parse = self.parse
        for index, value in enumerate(values):
            try:
                amount = cache[value]
            except KeyError:
                try:
                    amount = cache[value] = parse(value)
                except (ValueError, InvalidOperation) as exc:
                    return result, index, str(exc)
            result.append(amount)
        return result, None, None


_DOT_EVIDENCE = re.compile(r"\.\d{1,2}(?=[^\d.,]*$)|\.\d{4,}(?=[^\d.,]*$)|\d,\d{3}\.|\d,\d{3},\d{3}(?!\d)|"
                           r"'\d{3}\.", re.M)
_COMMA_EVIDENCE = re.compile(r",\d{1,2}(?=[^\d.,]*$)|,\d{4,}(?=[^\d.,]*$)|\d\.\d{3},|\d\.\d{3}\.\d{3}(?!\d)|"
                             r"'\d{3},", re.M)
_AMBIGUOUS_MARK = re.compile(r"[.,]\d{3}(?=[^\d.,]*$)", re.M)


def infer_decimal_mark(columns: Sequence[list[str] | str], fallback: str | None, filename: str,
                       line_of: Callable[[int], int]) -> str:
    """The decimal mark the amounts use, judged from every value of every amount column.

    `1.234,56` and `0,31` say comma; `1,234.56` and `7.80` say dot. A file that says both is an
    error naming a line of each; one that says neither (`1,234` alone could be either) takes the
    mapping's `decimal`, or is an error.
    """
    dot = comma = None
    for values in columns:
        joined = values if isinstance(values, str) else "\n".join(values)
        has_comma = "," in joined or "'" in joined
        if "." in joined:
            dot = dot or _first_evidence(_DOT_EVIDENCE, joined)
        if has_comma or "." in joined:   # dots alone can say comma too: 1.200.000 groups its thousands
            comma = comma or _first_evidence(_COMMA_EVIDENCE, joined)
            if not dot and "." not in joined:
                dot = dot or _first_evidence(_DOT_EVIDENCE, joined)
        if dot and comma:
            break
    if dot and comma:
        raise InputError(f"the amounts mix decimal marks: '{dot[1]}' (line {line_of(dot[0])}) reads with a "
                         f"dot, '{comma[1]}' (line {line_of(comma[0])}) with a comma; set decimal in a mapping",
                         file=filename, line=line_of(comma[0]))
    if dot:
        return "."
    if comma:
        return ","
    if fallback:
        return fallback
    for values in columns:
        joined = values if isinstance(values, str) else "\n".join(values)
        found = _first_evidence(_AMBIGUOUS_MARK, joined)
        if found:
            raise InputError(f"cannot tell whether '{found[1]}' uses a decimal mark or a thousands separator; "
                             "set decimal: \".\" or \",\" in a mapping", file=filename, line=line_of(found[0]))
    return "."


def _first_evidence(pattern: re.Pattern, joined: str) -> tuple[int, str] | None:
    match = pattern.search(joined)
    if match is None:
        return None
    start = joined.rfind("\n", 0, match.start()) + 1
    end = joined.find("\n", match.end())
    return joined.count("\n", 0, match.start()), joined[start:end if end >= 0 else len(joined)].strip()
